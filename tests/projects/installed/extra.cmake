# install(SCRIPT): writes what an install step computes, under DESTDIR as install scripts must.
file(WRITE "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/share/extra.txt" "extra 1\n")
