// session_ids_test.cpp - tests core/smtp/session_ids.hpp: ids never repeat within a worker,
// between workers started in the same second, across a restart, or when the counter wraps.
#include "core/smtp/session_ids.hpp"

#include <doctest/doctest.h>

#include <set>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::smtp::SessionIds;

TEST_CASE("two workers started in the same second never share an id") {
    SessionIds a(1764000000, 0), b(1764000000, 1);
    std::set<std::uint64_t> seen;
    for (int i = 0; i < 10000; ++i) {
        CHECK(seen.insert(a.next(1764000000)).second);
        CHECK(seen.insert(b.next(1764000000)).second);
    }
}

TEST_CASE("a worker restarted later does not repeat the ids of its predecessor") {
    SessionIds first(1764000000, 3);
    SessionIds restarted(1764000001, 3);
    std::set<std::uint64_t> seen;
    for (int i = 0; i < 1000; ++i) seen.insert(first.next(1764000000));
    for (int i = 0; i < 1000; ++i) CHECK(seen.insert(restarted.next(1764000001)).second);
}

TEST_CASE("the counter wrapping moves the base on instead of repeating") {
    SessionIds ids(1764000000, 0);
    const std::uint64_t first = ids.next(1764000000);
    for (std::uint64_t i = 1; i < 0xffffff; ++i) ids.next(1764000000);
    // The clock has not moved: the base still advances by one second.
    const std::uint64_t after_wrap = ids.next(1764000000);
    CHECK(after_wrap != first);
    CHECK((after_wrap >> 32) == 1764000001u);
    CHECK((after_wrap & 0xffffff) == 1);
}

TEST_CASE("the worker index and the base are visible in the id") {
    SessionIds ids(0x12345678, 0xab);
    CHECK(ids.next(0x12345678) == 0x12345678ab000001ull);
}

}  // namespace ASMTPD_TEST_UNIT
