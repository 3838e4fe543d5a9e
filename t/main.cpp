// One doctest main shared by every unit-test binary (one binary per layer).
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
