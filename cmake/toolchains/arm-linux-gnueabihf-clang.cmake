# arm/v7 with Debian's clang and the GCC cross libraries (apt-get install clang g++-arm-linux-gnueabihf):
# clang compiles for the target, Debian's cross binutils link, and the C/C++ runtime, the find roots
# and pkg-config are those of arm-linux-gnueabihf.cmake beside this file. For a sysroot of your own, add
# set(CMAKE_SYSROOT <dir>) (prefer this file to the gcc one then: see docs/cross.md).
include("${CMAKE_CURRENT_LIST_DIR}/arm-linux-gnueabihf.cmake")
set(CMAKE_C_COMPILER clang)
set(CMAKE_CXX_COMPILER clang++)
set(CMAKE_C_COMPILER_TARGET arm-linux-gnueabihf)
set(CMAKE_CXX_COMPILER_TARGET arm-linux-gnueabihf)
