// spp_sandbox_test.cpp - tests plugins/spp/spp_sandbox.cpp: byte sizes, limits, user and group
// lookups (by name and number), and when a uid change is refused.
#include <doctest/doctest.h>

#include "plugins/spp/spp_sandbox.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::plugins::spp;

TEST_CASE("spp sandbox: byte sizes") {
    CHECK(parse_byte_size("512") == 512u);
    CHECK(parse_byte_size("4K") == 4096u);
    CHECK(parse_byte_size("64m") == 64u << 20);
    CHECK(parse_byte_size("2G") == 2ull << 30);
    CHECK_FALSE(parse_byte_size(""));
    CHECK_FALSE(parse_byte_size("G"));
    CHECK_FALSE(parse_byte_size("0"));
    CHECK_FALSE(parse_byte_size("-1M"));
    CHECK_FALSE(parse_byte_size("1T"));
    CHECK_FALSE(parse_byte_size("99999999999999999999"));
    CHECK_FALSE(parse_byte_size("17179869184G"));   // overflows 64 bits
}

TEST_CASE("spp sandbox: limits") {
    Sandbox s;
    CHECK_FALSE(parse_sandbox({}, 0, 0, s));
    CHECK_FALSE(s.run_as);
    CHECK(s.limits.cpu_seconds == 0);
    CHECK_FALSE(parse_sandbox({std::nullopt, "10", "256M"}, 1000, 1000, s));
    CHECK(s.limits.cpu_seconds == 10);
    CHECK(s.limits.as_bytes == 256u << 20);
    CHECK(parse_sandbox({std::nullopt, "0", std::nullopt}, 0, 0, s)->find("rlimit_cpu") != std::string::npos);
    CHECK(parse_sandbox({std::nullopt, "1.5", std::nullopt}, 0, 0, s));
    CHECK(parse_sandbox({std::nullopt, std::nullopt, "1M"}, 0, 0, s)->find("rlimit_as") != std::string::npos);
}

TEST_CASE("spp sandbox: user and group") {
    Sandbox s;
    // As root: by name (primary group from passwd), by number, with a group.
    REQUIRE_FALSE(parse_sandbox({"nobody", std::nullopt, std::nullopt}, 0, 0, s));
    REQUIRE(s.run_as);
    CHECK(s.run_as->uid == 65534);
    CHECK(s.run_as->gid == 65534);
    REQUIRE_FALSE(parse_sandbox({"daemon:nogroup", std::nullopt, std::nullopt}, 0, 0, s));
    CHECK(s.run_as->uid == 1);
    CHECK(s.run_as->gid == 65534);
    REQUIRE_FALSE(parse_sandbox({"4242:4343", std::nullopt, std::nullopt}, 0, 0, s));
    CHECK(s.run_as->uid == 4242);
    CHECK(s.run_as->gid == 4343);
    CHECK(parse_sandbox({"asmtpd-no-such-user", std::nullopt, std::nullopt}, 0, 0, s)->find("no such user") !=
          std::string::npos);
    CHECK(parse_sandbox({"nobody:asmtpd-no-such-group", std::nullopt, std::nullopt}, 0, 0, s)->find("no such group") !=
          std::string::npos);
    CHECK(parse_sandbox({":nogroup", std::nullopt, std::nullopt}, 0, 0, s));
    CHECK(parse_sandbox({"nobody:", std::nullopt, std::nullopt}, 0, 0, s));
    // Not root: only our own ids are accepted (and change nothing).
    REQUIRE_FALSE(parse_sandbox({"nobody", std::nullopt, std::nullopt}, 65534, 65534, s));
    CHECK_FALSE(s.run_as);
    auto e = parse_sandbox({"daemon", std::nullopt, std::nullopt}, 65534, 65534, s);
    REQUIRE(e);
    CHECK(e->find("needs asmtpd to run as root") != std::string::npos);
    // "user root" as root is honoured literally (drops supplementary groups), never ignored.
    REQUIRE_FALSE(parse_sandbox({"root", std::nullopt, std::nullopt}, 0, 0, s));
    REQUIRE(s.run_as);
    CHECK(s.run_as->uid == 0);
}

}  // namespace ASMTPD_TEST_UNIT
