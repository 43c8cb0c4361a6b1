macro(conan_find_apple_frameworks FRAMEWORKS_FOUND FRAMEWORKS FRAMEWORKS_DIRS)
  # Only Apple platforms have frameworks: nothing to find here.
endmacro()

# One IMPORTED target per library of the package, CONAN_LIB::<package>_<lib><config suffix>, its location
# that configuration's; each links the package's dependencies target.
function(conan_package_library_targets libraries package_libdir package_bindir library_type
         is_host_windows deps_target out_libraries_target config_suffix package_name no_soname_mode)
  set(_created "")
  foreach(_LIBRARY_NAME ${libraries})
    find_library(CONAN_FOUND_LIBRARY NAMES ${_LIBRARY_NAME} PATHS ${package_libdir} NO_DEFAULT_PATH NO_CMAKE_FIND_ROOT_PATH)
    if(NOT CONAN_FOUND_LIBRARY)
      message(FATAL_ERROR "Library '${_LIBRARY_NAME}' not found in package.")
    endif()
    string(REGEX REPLACE "[^A-Za-z0-9.+_-]" "_" _LIBRARY_NAME ${_LIBRARY_NAME})
    set(_LIB_NAME CONAN_LIB::${package_name}_${_LIBRARY_NAME}${config_suffix})
    if(NOT TARGET ${_LIB_NAME})
      add_library(${_LIB_NAME} ${library_type} IMPORTED)
    endif()
    set_target_properties(${_LIB_NAME} PROPERTIES IMPORTED_LOCATION${config_suffix} ${CONAN_FOUND_LIBRARY}
                          IMPORTED_NO_SONAME ${no_soname_mode})
    list(APPEND _created ${_LIB_NAME})
    unset(CONAN_FOUND_LIBRARY CACHE)
  endforeach()
  foreach(_T ${_created})
    set_property(TARGET ${_T} APPEND PROPERTY INTERFACE_LINK_LIBRARIES ${deps_target})
  endforeach()
  set(${out_libraries_target} ${_created} PARENT_SCOPE)
endfunction()

macro(check_build_type_defined)
  get_property(isMultiConfig GLOBAL PROPERTY GENERATOR_IS_MULTI_CONFIG)
  if(NOT isMultiConfig AND NOT CMAKE_BUILD_TYPE)
    message(FATAL_ERROR "Please, set the CMAKE_BUILD_TYPE variable when calling to CMake")
  endif()
endmacro()
