#include <stdio.h>
int main(void) { puts("first"); return 0; }
