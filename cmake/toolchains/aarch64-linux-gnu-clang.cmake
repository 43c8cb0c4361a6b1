# linux/arm64 with Debian's clang and the GCC cross libraries (apt-get install clang
# g++-aarch64-linux-gnu): clang compiles for the target, Debian's cross binutils link, and the C/C++
# runtime is the one the GCC cross packages ship under /usr/aarch64-linux-gnu. For a sysroot of your
# own, add set(CMAKE_SYSROOT <dir>).
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER clang)
set(CMAKE_CXX_COMPILER clang++)
set(CMAKE_C_COMPILER_TARGET aarch64-linux-gnu)
set(CMAKE_CXX_COMPILER_TARGET aarch64-linux-gnu)
set(CMAKE_LIBRARY_ARCHITECTURE aarch64-linux-gnu)
# Programs from the build machine. Libraries, headers and packages for the target: the cross
# toolchain's own (/usr/aarch64-linux-gnu) and Debian's multiarch packages
# (apt-get install libfoo-dev:<arch>), which CMAKE_LIBRARY_ARCHITECTURE finds under
# /usr/lib/aarch64-linux-gnu and /usr/include from the root "/".
set(CMAKE_FIND_ROOT_PATH /usr/aarch64-linux-gnu /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# pkg-config answers for the target: the multiarch .pc files, never the build machine's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/aarch64-linux-gnu/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
find_program(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static)
