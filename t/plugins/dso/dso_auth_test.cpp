// dso_auth_test.cpp - the native ABI's on_auth hook: called at auth_post with the user.
#include <doctest/doctest.h>

#include <string>

#include "hooks/defaults.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

namespace {
std::string fixture(const std::string& name) { return std::string(ASMTPD_FIXTURE_DIR) + "/" + name + ".so"; }
}  // namespace

TEST_CASE("dso native: on_auth runs at auth_post with the user, and its REJECT refuses the login") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("native_probe")});
    REQUIRE_FALSE(h.init_error);
    REQUIRE(h.handlers(hooks::Hook::AuthPost) == 1);

    auto ok = h.call(hooks::Hook::AuthPost, hooks::AuthArgs{"PLAIN", "alice", {}, {}});
    CHECK(std::string(result_name(ok)) == "DECLINED");
    CHECK(ctx.conn.env["NATIVE_AUTH"] == "alice");

    auto no = h.call(hooks::Hook::AuthPost, hooks::AuthArgs{"LOGIN", "mallory", {}, {}});
    REQUIRE(no);
    CHECK(std::string(result_name(no)) == "DENY");
    auto d = hooks::dispose(hooks::Hook::AuthPost, *no);
    CHECK(d.reply.code == 535);
    CHECK(d.reply.esc == "5.7.8");
    CHECK(d.reply.lines == std::vector<std::string>{"not you"});
}

}  // namespace ASMTPD_TEST_UNIT
