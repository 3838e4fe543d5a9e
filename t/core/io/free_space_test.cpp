// free_space_test.cpp - limits.min_free_space: the threshold syntax and the monitor's answers
// against the real filesystem of a temporary directory.
#include "core/io/free_space.hpp"

#include <doctest/doctest.h>

#include <sys/statvfs.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "t/core/io/test_loop.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io;
using asmtpd::io::test::TestLoop;

namespace {
std::uint64_t available(const std::string& path) {
    struct statvfs st {};
    REQUIRE(::statvfs(path.c_str(), &st) == 0);
    return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}
}  // namespace

TEST_CASE("free_space: threshold syntax") {
    CHECK(parse_space_threshold("0")->off());
    CHECK(parse_space_threshold("123")->bytes == 123);
    CHECK(parse_space_threshold("64M")->bytes == 64ull << 20);
    CHECK(parse_space_threshold("2g")->bytes == 2ull << 30);
    CHECK(parse_space_threshold("1T")->bytes == 1ull << 40);
    CHECK(parse_space_threshold("100K")->bytes == 100ull << 10);
    CHECK(parse_space_threshold("5%")->percent == doctest::Approx(5.0));
    CHECK(parse_space_threshold("0.5%")->percent == doctest::Approx(0.5));
    for (const char* bad : {"", "M", "-1", "1.5M", "5 %", "100%", "abc", "12X", "%", "99999999999999999999T"})
        CHECK_MESSAGE(!parse_space_threshold(bad), bad);
}

TEST_CASE("free_space: the monitor answers from the real filesystem and counts the size asked for") {
    TestLoop loop;
    const std::string dir = std::filesystem::temp_directory_path().string();
    FreeSpaceMonitor m(loop.get());
    const std::uint64_t free_now = available(dir);

    CHECK_FALSE(m.short_of_space({dir}, *parse_space_threshold("0"), 0));
    CHECK_FALSE(m.short_of_space({dir}, *parse_space_threshold("1"), 1000));
    // More than there is: the path is named.
    auto full = m.short_of_space({dir}, SpaceThreshold{.bytes = free_now + (1ull << 30)}, 0);
    REQUIRE(full);
    CHECK(*full == dir);
    // A size that does not fit, even with no threshold.
    CHECK(m.short_of_space({dir}, SpaceThreshold{}, free_now + (1ull << 30)));
    CHECK(m.short_of_space({dir}, *parse_space_threshold("99.999%"), 0));
    // A path that cannot be measured is not taken for a full disk.
    CHECK_FALSE(m.short_of_space({"/nonexistent/asmtpd-test"}, SpaceThreshold{.bytes = 1}, 0));
}

TEST_CASE("free_space: stale figures are refreshed on the pool, not on the caller's stack") {
    TestLoop loop;
    const std::string dir = std::filesystem::temp_directory_path().string();
    FreeSpaceMonitor m(loop.get(), std::chrono::milliseconds(0));
    const SpaceThreshold huge{.bytes = available(dir) + (1ull << 30)};
    REQUIRE(m.short_of_space({dir}, huge, 0));   // first sight: measured at once
    loop.run_for(20);
    CHECK(m.short_of_space({dir}, huge, 0));     // answered from the cache while a refresh runs
    loop.run_for(50);                            // the refresh lands; the answer stays right
    CHECK(m.short_of_space({dir}, huge, 0));
    CHECK_FALSE(m.short_of_space({dir}, SpaceThreshold{.bytes = 1}, 0));
    loop.run_for(100);   // the last refresh lands before the loop is closed
}

}  // namespace ASMTPD_TEST_UNIT
