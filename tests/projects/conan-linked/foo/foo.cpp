#include "foo.h"
int foo::answer() { return 42; }
