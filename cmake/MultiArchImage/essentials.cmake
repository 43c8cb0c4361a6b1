# MultiArchImage/essentials.cmake: ESSENTIALS, what a minimal image needs to run a real service:
# accounts (root, nobody, nonroot with its home), this machine's CA bundle, its time zone database and
# a sticky /tmp, as distroless's static image has them. Checked here, so that a wrong item, a path
# the project makes too or a missing source on this machine fails the configure; the helper makes
# them (helper/src/image/essentials.cpp) and checks again when it runs.

# ESSENTIALS <item>... of the assembled image `name` (ARG_ESSENTIALS_JSON) into the image's JSON
# `json_var` (image.essentials, in the helper's order, and image.ca_bundle with ca-certificates).
# `accounts_var` is set TRUE in the caller when the image gets /etc/passwd and /etc/group from them
# (USER may then name nonroot). `directories` and `files` are the image's DIRECTORIES and FILES as the
# spec has them, for the paths both would make.
function(_multiarch_essentials json_var accounts_var name directories files)
  if(NOT DEFINED ARG_ESSENTIALS_JSON)
    return()
  endif()
  # The helper's kEssentialItems, in its order. (Set here: a variable of the module's directory is not
  # seen in others.)
  set(known accounts ca-certificates tzdata tmp)
  set(valid "(valid: accounts, ca-certificates, tzdata, tmp, or ALL for the four)")
  set(items "")
  string(JSON count LENGTH "${ARG_ESSENTIALS_JSON}")
  set(i 0)
  while(i LESS count)
    string(JSON item GET "${ARG_ESSENTIALS_JSON}" ${i})
    math(EXPR i "${i} + 1")
    set(named "${item}")
    if(item STREQUAL "ALL")
      set(named ${known})
    elseif(NOT item IN_LIST known)
      _multiarch_nearest(nearest "${item}" ${known} ALL)
      set(hint "")
      if(nearest)
        set(hint " (did you mean ${nearest}?)")
      endif()
      message(FATAL_ERROR "add_multiarch_image(${name}): ESSENTIALS `${item}` is not an item${hint} ${valid}")
    endif()
    foreach(one IN LISTS named)
      if(one IN_LIST items)
        message(FATAL_ERROR "add_multiarch_image(${name}): ESSENTIALS names ${one} twice (ALL names all four) ${valid}")
      endif()
      list(APPEND items "${one}")
    endforeach()
  endwhile()

  # What each item makes, for the paths the project would make too (the helper checks the rest: a
  # FILES directory or INSTALL giving one of them).
  set(made_accounts /etc/passwd /etc/group /root /home/nonroot)
  set(made_ca-certificates /etc/ssl/certs/ca-certificates.crt /usr/lib/ssl/cert.pem /etc/ssl/cert.pem
    /etc/pki/tls/certs/ca-bundle.crt)
  set(made_tzdata /usr/share/zoneinfo)
  set(made_tmp /tmp)
  foreach(pair IN ITEMS "directories|path|DIRECTORIES" "files|destination|FILES")
    string(REPLACE "|" ";" pair "${pair}")
    list(GET pair 0 list)
    list(GET pair 1 field)
    list(GET pair 2 keyword)
    string(JSON n LENGTH "${${list}}")
    set(j 0)
    while(j LESS n)
      string(JSON path GET "${${list}}" ${j} ${field})
      math(EXPR j "${j} + 1")
      string(REGEX REPLACE "(.)/$" "\\1" path "${path}")
      foreach(item IN LISTS items)
        foreach(made IN LISTS made_${item})
          string(FIND "${path}" "${made}/" under)
          if(path STREQUAL made OR (item STREQUAL "tzdata" AND under EQUAL 0))
            message(FATAL_ERROR "add_multiarch_image(${name}): ${keyword} ${path} and ESSENTIALS ${item} both make "
              "${made}: leave one of them out (ESSENTIALS ${item} makes what distroless has there)")
          endif()
        endforeach()
      endforeach()
    endwhile()
  endforeach()

  # Their sources on this machine, each named by the package that provides it.
  set(json "${${json_var}}")
  if("ca-certificates" IN_LIST items)
    set(bundle "${MULTIARCH_IMAGE_CA_BUNDLE}")
    if(NOT IS_ABSOLUTE "${bundle}")
      message(FATAL_ERROR "add_multiarch_image(${name}): MULTIARCH_IMAGE_CA_BUNDLE `${bundle}` is not an absolute path "
        "(valid: a PEM bundle, e.g. /etc/ssl/certs/ca-certificates.crt, the default)")
    elseif(NOT EXISTS "${bundle}" OR IS_DIRECTORY "${bundle}")
      message(FATAL_ERROR "add_multiarch_image(${name}): ESSENTIALS ca-certificates: there is no CA bundle at ${bundle} "
        "(MULTIARCH_IMAGE_CA_BUNDLE) on this machine; install the package ca-certificates "
        "(apt-get install ca-certificates), or set MULTIARCH_IMAGE_CA_BUNDLE to a PEM bundle of your own")
    endif()
    _multiarch_json_string(quoted "${bundle}")
    string(JSON json SET "${json}" ca_bundle "${quoted}")
  endif()
  if("tzdata" IN_LIST items AND NOT IS_DIRECTORY /usr/share/zoneinfo)
    message(FATAL_ERROR "add_multiarch_image(${name}): ESSENTIALS tzdata: there is no time zone database at "
      "/usr/share/zoneinfo on this machine; install the package tzdata (apt-get install tzdata)")
  endif()
  set(ordered "")  # the helper's order, whatever the call's: reordering them rebuilds nothing
  foreach(item IN LISTS known)
    if(item IN_LIST items)
      list(APPEND ordered "${item}")
    endif()
  endforeach()
  _multiarch_json_array(array ${ordered})
  string(JSON json SET "${json}" essentials "${array}")
  set(${json_var} "${json}" PARENT_SCOPE)
  if("accounts" IN_LIST items)
    set(${accounts_var} TRUE PARENT_SCOPE)
  endif()
endfunction()
