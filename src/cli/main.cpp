#include <cstdio>

int main() { std::puts("rollback"); return 0; }
