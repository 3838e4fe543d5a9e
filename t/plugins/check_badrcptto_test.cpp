// check_badrcptto_test.cpp - tests plugins/check_badrcptto.cpp (and its badrcptto alias).
#include <doctest/doctest.h>

#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

TEST_CASE("check_badrcptto: addresses, domains, bare names, messages") {
    FakeContext ctx;
    ctx.write_config("badrcptto", "gone@example.com User left\n@closed.example\nroot\n");
    for (const char* name : {"check_badrcptto", "badrcptto"}) {
        CAPTURE(name);
        PluginHarness p(ctx, name);
        REQUIRE_FALSE(p.init_error);
        REQUIRE(p.handlers(hooks::Hook::Rcpt) == 1);
        CHECK(p.handlers(hooks::Hook::Mail) == 0);

        auto v = p.rcpt("Gone", "EXAMPLE.com");
        CHECK(std::string(result_name(v)) == "DENY");
        CHECK(test::text_of(v) == "User left");
        v = p.rcpt("x", "closed.example");
        CHECK(std::string(result_name(v)) == "DENY");
        CHECK(test::text_of(v) == "Recipient address rejected");
        CHECK(std::string(result_name(p.rcpt("root", ""))) == "DENY");
        CHECK(std::string(result_name(p.rcpt("root", "example.com"))) == "DECLINED");
        CHECK(std::string(result_name(p.rcpt("here", "example.com"))) == "DECLINED");
        CHECK(std::string(result_name(p.rcpt("x", "open.closed.example"))) == "DECLINED");
    }
}

TEST_CASE("check_badrcptto: arguments refused") {
    FakeContext ctx;
    CHECK(PluginHarness(ctx, "check_badrcptto", {"x"}).init_error);
}

}  // namespace ASMTPD_TEST_UNIT
