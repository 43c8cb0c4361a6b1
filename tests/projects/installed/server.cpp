#include <cstdio>
int proto_answer();
int main() { std::printf("answer %d\n", proto_answer()); }
