include_guard()

set(foo_FRAMEWORKS_FOUND_RELEASE "")
conan_find_apple_frameworks(foo_FRAMEWORKS_FOUND_RELEASE "${foo_FRAMEWORKS_RELEASE}" "${foo_FRAMEWORK_DIRS_RELEASE}")

set(foo_LIBRARIES_TARGETS "")

if(NOT TARGET foo_DEPS_TARGET)
  add_library(foo_DEPS_TARGET INTERFACE IMPORTED)
endif()

set_property(TARGET foo_DEPS_TARGET
             APPEND PROPERTY INTERFACE_LINK_LIBRARIES
             $<$<CONFIG:Release>:${foo_FRAMEWORKS_FOUND_RELEASE}>
             $<$<CONFIG:Release>:${foo_SYSTEM_LIBS_RELEASE}>
             $<$<CONFIG:Release>:>)

conan_package_library_targets("${foo_LIBS_RELEASE}"
                              "${foo_LIB_DIRS_RELEASE}"
                              "${foo_BIN_DIRS_RELEASE}"
                              "${foo_LIBRARY_TYPE_RELEASE}"
                              "${foo_IS_HOST_WINDOWS_RELEASE}"
                              foo_DEPS_TARGET
                              foo_LIBRARIES_TARGETS
                              "_RELEASE"
                              "foo"
                              "${foo_NO_SONAME_MODE_RELEASE}")

set(CMAKE_MODULE_PATH ${foo_BUILD_DIRS_RELEASE} ${CMAKE_MODULE_PATH})

set_property(TARGET foo::foo
             APPEND PROPERTY INTERFACE_LINK_LIBRARIES
             $<$<CONFIG:Release>:${foo_OBJECTS_RELEASE}>
             $<$<CONFIG:Release>:${foo_LIBRARIES_TARGETS}>
             )

if("${foo_LIBS_RELEASE}" STREQUAL "")
  set_property(TARGET foo::foo APPEND PROPERTY INTERFACE_LINK_LIBRARIES foo_DEPS_TARGET)
endif()

set_property(TARGET foo::foo APPEND PROPERTY INTERFACE_LINK_OPTIONS
             $<$<CONFIG:Release>:${foo_LINKER_FLAGS_RELEASE}>)
set_property(TARGET foo::foo APPEND PROPERTY INTERFACE_INCLUDE_DIRECTORIES
             $<$<CONFIG:Release>:${foo_INCLUDE_DIRS_RELEASE}>)
set_property(TARGET foo::foo APPEND PROPERTY INTERFACE_LINK_DIRECTORIES
             $<$<CONFIG:Release>:${foo_LIB_DIRS_RELEASE}>)
set_property(TARGET foo::foo APPEND PROPERTY INTERFACE_COMPILE_DEFINITIONS
             $<$<CONFIG:Release>:${foo_COMPILE_DEFINITIONS_RELEASE}>)
set_property(TARGET foo::foo APPEND PROPERTY INTERFACE_COMPILE_OPTIONS
             $<$<CONFIG:Release>:${foo_COMPILE_OPTIONS_RELEASE}>)
