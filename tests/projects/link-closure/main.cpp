#include <cstdio>
const char* middle();
int main() { std::puts(middle()); }
