#include <zlib.h>

#include <iostream>

int main() { std::cout << "zlib " << zlibVersion() << "\n"; }
