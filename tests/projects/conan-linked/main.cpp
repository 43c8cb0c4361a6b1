#include <foo.h>

int main() { return foo::answer() == 42 ? 0 : 1; }
