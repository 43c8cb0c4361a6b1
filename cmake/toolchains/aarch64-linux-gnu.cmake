# linux/arm64 with Debian's cross compiler (apt-get install g++-aarch64-linux-gnu). Libraries for the
# target: Debian's multiarch packages (dpkg --add-architecture arm64; apt-get install libfoo-dev:arm64),
# found under /usr/lib/aarch64-linux-gnu, or a sysroot named with CMAKE_SYSROOT.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)
set(CMAKE_C_COMPILER aarch64-linux-gnu-gcc)
set(CMAKE_CXX_COMPILER aarch64-linux-gnu-g++)
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
# Running a test program (try_run) needs QEMU: qemu-user-static from Debian.
find_program(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64-static)
