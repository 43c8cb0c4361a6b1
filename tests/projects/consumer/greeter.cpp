#include <cstdio>
int main() { std::puts("greetings from a consumer project"); }
