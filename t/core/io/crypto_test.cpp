// crypto_test.cpp - tests core/io/crypto.cpp: HMAC-MD5 against RFC 2202, the RFC 2195
// CRAM-MD5 example end to end, constant-time comparison, and the random helpers.
#include "core/io/crypto.hpp"

#include <doctest/doctest.h>

#include <set>
#include <string>

#include "core/proto/sasl.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io;

TEST_CASE("HMAC-MD5: RFC 2202 test vectors") {
    CHECK(hmac_md5_hex(std::string(16, '\x0b'), "Hi There") == "9294727a3638bb1c13f48ef8158bfc9d");
    CHECK(hmac_md5_hex("Jefe", "what do ya want for nothing?") == "750c783e6ab0b503eaa86e310a5db738");
    CHECK(hmac_md5_hex(std::string(16, '\xaa'), std::string(50, '\xdd')) == "56be34521d144c88dbb8c733f0e8b3f6");
    CHECK(hmac_md5_hex(std::string(80, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First") ==
          "6b1ab7fe4bd7bf8f0b62e6ce61b9d0cd");
    CHECK(hmac_md5_hex("", "").size() == 32);
}

TEST_CASE("CRAM-MD5: the RFC 2195 exchange verifies; anything else does not") {
    const std::string challenge = asmtpd::proto::cram_md5_challenge("1896", 697170952, "postoffice.reston.mci.net");
    auto resp = asmtpd::proto::parse_cram_md5("tim b913a602c7eda7a495b4e6e7334d3890");
    REQUIRE(resp.ok());
    CHECK(hmac_md5_hex("tanstaaftanstaaf", challenge) == resp->digest);
    CHECK(cram_md5_verify("tanstaaftanstaaf", challenge, resp->digest));
    CHECK(cram_md5_verify("tanstaaftanstaaf", challenge, "B913A602C7EDA7A495B4E6E7334D3890"));
    CHECK_FALSE(cram_md5_verify("tanstaaftanstaafx", challenge, resp->digest));
    CHECK_FALSE(cram_md5_verify("tanstaaftanstaaf", challenge + " ", resp->digest));
    CHECK_FALSE(cram_md5_verify("tanstaaftanstaaf", challenge, "b913a602c7eda7a495b4e6e7334d389"));
    CHECK_FALSE(cram_md5_verify("tanstaaftanstaaf", challenge, ""));
    CHECK_FALSE(cram_md5_verify("tanstaaftanstaaf", challenge, "b913a602c7eda7a495b4e6e7334d3891"));
}

TEST_CASE("constant_time_equal") {
    CHECK(constant_time_equal("", ""));
    CHECK(constant_time_equal("abc", "abc"));
    CHECK_FALSE(constant_time_equal("abc", "abd"));
    CHECK_FALSE(constant_time_equal("abc", "ab"));
    CHECK_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST_CASE("random_bytes and random_digits") {
    auto a = random_bytes(32), b = random_bytes(32);
    REQUIRE(a);
    REQUIRE(b);
    CHECK(a->size() == 32);
    CHECK(*a != *b);
    CHECK(random_bytes(0) == std::string());
    std::set<std::string> seen;
    int counts[10] = {};
    for (int i = 0; i < 200; ++i) {
        auto d = random_digits(20);
        REQUIRE(d);
        REQUIRE(d->size() == 20);
        for (char c : *d) {
            REQUIRE((c >= '0' && c <= '9'));
            ++counts[c - '0'];
        }
        seen.insert(*d);
    }
    CHECK(seen.size() == 200);
    for (int n : counts) CHECK(n > 250);   // 400 expected each; a stuck or biased digit shows
}

}  // namespace ASMTPD_TEST_UNIT
