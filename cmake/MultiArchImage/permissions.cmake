# MultiArchImage/permissions.cmake: who owns a path of an assembled image and what it may do. FILES
# entries and DIRECTORIES take OWNER, MODE and CAPABILITIES after them; TARGETS take the target
# properties MULTIARCH_IMAGE_OWNER, MULTIARCH_IMAGE_MODE and MULTIARCH_IMAGE_CAPABILITIES. Checked
# here as the helper checks them (model/permissions.cpp), so that a wrong value fails the configure.

# OWNER, MODE and CAPABILITIES (any may be empty: not given) of `what` checked, as a JSON object of
# the given ones ({"owner": ..., "mode": ..., "capabilities": ...}) in `out`. `kind` is file,
# directory or unknown (a FILES source made later or named by a generator expression: the helper
# checks the combinations when it knows). Errors begin with `where` ("add_multiarch_image(x): FILES
# entry `a=/b`").
function(_multiarch_permissions_json out where kind owner mode capabilities)
  # Linux's capabilities by number (include/uapi/linux/capability.h), as the helper knows them. (Set
  # here, not beside the functions: a variable of the module's directory is not seen in others.)
  set(known chown dac_override dac_read_search fowner fsetid kill setgid setuid setpcap
    linux_immutable net_bind_service net_broadcast net_admin net_raw ipc_lock ipc_owner sys_module sys_rawio
    sys_chroot sys_ptrace sys_pacct sys_admin sys_boot sys_nice sys_resource sys_time sys_tty_config mknod lease
    audit_write audit_control setfcap mac_override mac_admin syslog wake_alarm block_suspend audit_read perfmon bpf
    checkpoint_restore)
  set(json "{}")
  if(NOT owner STREQUAL "")
    set(id "([0-9]+|root|nonroot|nobody)")
    set(valid "(valid: numeric ids from 0 to 4294967294, or root, nonroot (65532), nobody (65534); e.g. 65532:65532 or nonroot)")
    if(NOT owner MATCHES "^${id}(:${id})?$")
      message(FATAL_ERROR "${where}: OWNER `${owner}` is not <user>[:<group>] ${valid}")
    endif()
    string(REPLACE ":" ";" parts "${owner}")
    foreach(part IN LISTS parts)
      string(LENGTH "${part}" length)
      if(part MATCHES "^[0-9]+$" AND (length GREATER 10 OR part GREATER 4294967294))
        message(FATAL_ERROR "${where}: OWNER `${owner}` has the id ${part}, out of range ${valid}")
      endif()
    endforeach()
    _multiarch_json_string(quoted "${owner}")
    string(JSON json SET "${json}" owner "${quoted}")
  endif()
  set(bits -1)
  if(NOT mode STREQUAL "")
    if(NOT mode MATCHES "^0?([0-7]?[0-7]?[0-7]?[0-7])$" OR CMAKE_MATCH_1 STREQUAL "")
      message(FATAL_ERROR "${where}: MODE `${mode}` is not an octal mode from 0000 to 7777 (valid: up to four octal "
        "digits after an optional 0, e.g. 0644, 0750, 4755 for setuid, 1777 for a sticky directory)")
    endif()
    set(bits 0)
    string(LENGTH "${CMAKE_MATCH_1}" length)
    math(EXPR last "${length} - 1")
    foreach(at RANGE ${last})
      string(SUBSTRING "${CMAKE_MATCH_1}" ${at} 1 digit)
      math(EXPR bits "${bits} * 8 + ${digit}")
    endforeach()
    _multiarch_json_string(quoted "${mode}")
    string(JSON json SET "${json}" mode "${quoted}")
  endif()
  set(names "")
  if(NOT capabilities STREQUAL "")
    string(REPLACE ";" "," capabilities "${capabilities}")  # a target property may be a CMake list
    string(REPLACE "," ";" given "${capabilities}")
    if(capabilities MATCHES "(^|,)[ ]*(,|$)")
      list(APPEND given "")  # an empty name, refused below
    endif()
    foreach(name IN LISTS given)
      string(STRIP "${name}" name)
      string(TOLOWER "${name}" bare)
      string(REGEX REPLACE "^cap_" "" bare "${bare}")
      if(NOT bare IN_LIST known)
        message(FATAL_ERROR "${where}: CAPABILITIES `${name}` is not a Linux capability (valid: names such as "
          "cap_net_bind_service, cap_net_raw, cap_sys_nice, separated by commas; the kernel's list: "
          "capabilities(7))")
      endif()
      if(bare IN_LIST names)
        message(FATAL_ERROR "${where}: CAPABILITIES names cap_${bare} twice")
      endif()
      list(APPEND names "${bare}")
    endforeach()
    _multiarch_json_string(quoted "${capabilities}")
    string(JSON json SET "${json}" capabilities "${quoted}")
  endif()
  # The combinations no kernel gives meaning to, or that open a hole (as check_permissions refuses).
  if(kind STREQUAL "directory" AND names)
    message(FATAL_ERROR "${where}: CAPABILITIES are given to programs; a directory cannot have them")
  endif()
  if(bits GREATER_EQUAL 0)
    math(EXPR setuid "${bits} & 2048")
    math(EXPR setgid "${bits} & 1024")
    math(EXPR sticky "${bits} & 512")
    math(EXPR owner_x "${bits} & 64")
    math(EXPR group_x "${bits} & 8")
    math(EXPR any_x "${bits} & 73")
    math(EXPR others_write "${bits} & 18")
    if(kind STREQUAL "directory" AND setuid)
      message(FATAL_ERROR "${where}: MODE ${mode} sets setuid on a directory, which has no meaning there (valid: "
        "setgid 2xxx and sticky 1xxx, e.g. 1777 for /tmp, 2775 for a shared directory)")
    elseif(kind STREQUAL "file")
      if(sticky)
        message(FATAL_ERROR "${where}: MODE ${mode} sets the sticky bit on a file, which Linux ignores (it is for "
          "directories)")
      elseif(setuid AND NOT owner_x)
        message(FATAL_ERROR "${where}: MODE ${mode} sets setuid on a file its owner may not execute (valid: add the "
          "owner's x, e.g. 4755)")
      elseif(setgid AND NOT group_x)
        message(FATAL_ERROR "${where}: MODE ${mode} sets setgid on a file its group may not execute (valid: e.g. 2755)")
      elseif((setuid OR setgid) AND others_write)
        message(FATAL_ERROR "${where}: MODE ${mode} makes a setuid or setgid program writable by others than its "
          "owner: anyone could replace what it runs (valid: e.g. 4755)")
      elseif(names AND NOT any_x)
        message(FATAL_ERROR "${where}: CAPABILITIES on a file nobody may execute (MODE ${mode}): give it an "
          "execute bit, e.g. MODE 0755")
      endif()
    endif()
  endif()
  set(${out} "${json}" PARENT_SCOPE)
endfunction()

# DIRECTORIES <path> [OWNER <user>[:<group>]] [MODE <octal>]...: empty directories of the image (a
# service's writable /var/lib/<name>), as a JSON array of {"path", "owner", "mode"} in `out`.
function(_multiarch_directories_json out name)
  set(array "[]")
  if(NOT DEFINED ARG_DIRECTORIES_JSON)
    set(${out} "${array}" PARENT_SCOPE)
    return()
  endif()
  set(valid "(valid: DIRECTORIES <absolute path> [OWNER <user>[:<group>]] [MODE <octal>]..., e.g. DIRECTORIES /var/lib/server OWNER nonroot MODE 0750)")
  string(JSON count LENGTH "${ARG_DIRECTORIES_JSON}")
  set(i 0)
  set(paths "")
  while(i LESS count)
    string(JSON path GET "${ARG_DIRECTORIES_JSON}" ${i})
    math(EXPR i "${i} + 1")
    if(path MATCHES "^(OWNER|MODE|CAPABILITIES)$")
      message(FATAL_ERROR "add_multiarch_image(${name}): DIRECTORIES: ${path} before any path ${valid}")
    endif()
    if(NOT path MATCHES "^/[^/]" OR path MATCHES "(^|/)\\.\\.?(/|$)" OR path MATCHES "//" OR path MATCHES "/$"
       OR path MATCHES "\\$<")
      message(FATAL_ERROR "add_multiarch_image(${name}): DIRECTORIES entry `${path}` is not an absolute path in the "
        "image without . or .. parts, nor / itself, nor a trailing / ${valid}")
    endif()
    if(path IN_LIST paths)
      message(FATAL_ERROR "add_multiarch_image(${name}): DIRECTORIES lists ${path} twice")
    endif()
    list(APPEND paths "${path}")
    foreach(word IN ITEMS OWNER MODE CAPABILITIES)
      set(${word} "")
    endforeach()
    _multiarch_permission_words(i "add_multiarch_image(${name}): DIRECTORIES ${path}" "${ARG_DIRECTORIES_JSON}" ${i})
    _multiarch_permissions_json(entry "add_multiarch_image(${name}): DIRECTORIES ${path}" directory
      "${OWNER}" "${MODE}" "${CAPABILITIES}")
    _multiarch_json_string(quoted "${path}")
    string(JSON entry SET "${entry}" path "${quoted}")
    string(JSON n LENGTH "${array}")
    string(JSON array SET "${array}" ${n} "${entry}")
  endwhile()
  set(${out} "${array}" PARENT_SCOPE)
endfunction()

# Reads the OWNER, MODE and CAPABILITIES words (each at most once) from the JSON array `values` at
# index `at` on, into the caller's OWNER, MODE and CAPABILITIES; `out_at` is the index after them.
macro(_multiarch_permission_words out_at where values at)
  set(_mpw_at ${at})
  string(JSON _mpw_count LENGTH "${values}")
  while(_mpw_at LESS _mpw_count)
    string(JSON _mpw_word GET "${values}" ${_mpw_at})
    if(NOT _mpw_word MATCHES "^(OWNER|MODE|CAPABILITIES)$")
      break()
    endif()
    math(EXPR _mpw_at "${_mpw_at} + 1")
    if(NOT _mpw_at LESS _mpw_count)
      message(FATAL_ERROR "${where}: ${_mpw_word} needs a value")
    endif()
    if(NOT "${${_mpw_word}}" STREQUAL "")
      message(FATAL_ERROR "${where}: ${_mpw_word} is given twice")
    endif()
    string(JSON ${_mpw_word} GET "${values}" ${_mpw_at})
    if("${${_mpw_word}}" STREQUAL "")
      message(FATAL_ERROR "${where}: ${_mpw_word} needs a value")
    endif()
    math(EXPR _mpw_at "${_mpw_at} + 1")
  endwhile()
  set(${out_at} ${_mpw_at})
endmacro()

# The target properties MULTIARCH_IMAGE_OWNER, _MODE and _CAPABILITIES of `targets`, read when every
# target exists (end of the top-level directory), as a JSON array of {"path", "what", "owner", "mode",
# "capabilities"} for the files they are staged as. Executables only: each is staged as
# /usr/local/bin/<file name>.
function(_multiarch_target_permissions out name targets)
  set(array "[]")
  foreach(target IN LISTS targets)
    if(NOT TARGET "${target}")
      continue()  # _multiarch_check_targets says why
    endif()
    set(given FALSE)
    foreach(word IN ITEMS OWNER MODE CAPABILITIES)
      get_target_property(${word} "${target}" MULTIARCH_IMAGE_${word})
      if(NOT ${word})
        set(${word} "")
      else()
        set(given TRUE)
      endif()
    endforeach()
    if(NOT given)
      continue()
    endif()
    set(where "add_multiarch_image(${name}): TARGETS entry `${target}`, target properties MULTIARCH_IMAGE_OWNER/_MODE/_CAPABILITIES")
    get_target_property(type "${target}" TYPE)
    if(NOT type STREQUAL "EXECUTABLE")
      message(FATAL_ERROR "${where}: `${target}` is a ${type}; these properties are for executables (a library's "
        "owner and mode stay root's 0755)")
    endif()
    _multiarch_executable_file_name(file "${name}" "${target}"
      "the target properties MULTIARCH_IMAGE_OWNER/_MODE/_CAPABILITIES of `${target}` cannot be placed")
    _multiarch_permissions_json(entry "${where}" file "${OWNER}" "${MODE}" "${CAPABILITIES}")
    _multiarch_json_string(quoted "/usr/local/bin/${file}")
    string(JSON entry SET "${entry}" path "${quoted}")
    _multiarch_json_string(quoted "TARGETS entry ${target} (/usr/local/bin/${file})")
    string(JSON entry SET "${entry}" what "${quoted}")
    string(JSON n LENGTH "${array}")
    string(JSON array SET "${array}" ${n} "${entry}")
  endforeach()
  set(${out} "${array}" PARENT_SCOPE)
endfunction()
