// sock_name_test.cpp - sockaddr to text: IPv4, IPv6, and IPv4-mapped IPv6 unwrapping.
#include "core/io/sock_name.hpp"

#include <doctest/doctest.h>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::io::sock_name_of;

TEST_CASE("IPv4 and IPv6 addresses and ports") {
    sockaddr_in in{};
    REQUIRE(uv_ip4_addr("192.0.2.7", 2525, &in) == 0);
    auto a = sock_name_of(reinterpret_cast<const sockaddr*>(&in));
    CHECK(a.ip == "192.0.2.7");
    CHECK(a.port == 2525);

    sockaddr_in6 in6{};
    REQUIRE(uv_ip6_addr("2001:db8::1", 65535, &in6) == 0);
    auto b = sock_name_of(reinterpret_cast<const sockaddr*>(&in6));
    CHECK(b.ip == "2001:db8::1");
    CHECK(b.port == 65535);
}

TEST_CASE("IPv4-mapped IPv6 reads as IPv4; look-alikes do not") {
    sockaddr_in6 in6{};
    REQUIRE(uv_ip6_addr("::ffff:198.51.100.9", 25, &in6) == 0);
    CHECK(sock_name_of(reinterpret_cast<const sockaddr*>(&in6)).ip == "198.51.100.9");

    // IPv4-compatible (deprecated) and NAT64 addresses are not mapped addresses.
    REQUIRE(uv_ip6_addr("64:ff9b::c633:6409", 25, &in6) == 0);
    CHECK(sock_name_of(reinterpret_cast<const sockaddr*>(&in6)).ip == "64:ff9b::c633:6409");
    REQUIRE(uv_ip6_addr("::1", 25, &in6) == 0);
    CHECK(sock_name_of(reinterpret_cast<const sockaddr*>(&in6)).ip == "::1");
}

TEST_CASE("unknown families give an empty address") {
    sockaddr sa{};
    sa.sa_family = AF_UNIX;
    auto n = sock_name_of(&sa);
    CHECK(n.ip.empty());
    CHECK(n.port == 0);
}

}  // namespace ASMTPD_TEST_UNIT
