#include "kr_test.h"
int main(void) { return KR_TEST_REPORT("safety"); }
