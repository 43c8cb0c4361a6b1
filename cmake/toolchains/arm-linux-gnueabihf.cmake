# linux/arm/v7 (hard float) with Debian's cross compiler (apt-get install g++-arm-linux-gnueabihf).
# Libraries for the target: Debian's multiarch packages (dpkg --add-architecture armhf; apt-get install
# libfoo-dev:armhf), found under /usr/lib/arm-linux-gnueabihf, or a sysroot named with CMAKE_SYSROOT.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR armv7l)
set(CMAKE_C_COMPILER arm-linux-gnueabihf-gcc)
set(CMAKE_CXX_COMPILER arm-linux-gnueabihf-g++)
set(CMAKE_LIBRARY_ARCHITECTURE arm-linux-gnueabihf)
# Programs from the build machine. Libraries, headers and packages for the target: the cross
# toolchain's own (/usr/arm-linux-gnueabihf) and Debian's multiarch packages
# (apt-get install libfoo-dev:<arch>), which CMAKE_LIBRARY_ARCHITECTURE finds under
# /usr/lib/arm-linux-gnueabihf and /usr/include from the root "/".
set(CMAKE_FIND_ROOT_PATH /usr/arm-linux-gnueabihf /)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
# pkg-config answers for the target: the multiarch .pc files, never the build machine's.
set(ENV{PKG_CONFIG_LIBDIR} "/usr/lib/arm-linux-gnueabihf/pkgconfig:/usr/share/pkgconfig")
set(ENV{PKG_CONFIG_PATH} "")
find_program(CMAKE_CROSSCOMPILING_EMULATOR qemu-arm-static)
