// discard_test.cpp - tests plugins/queue/discard.cpp.
#include <doctest/doctest.h>

#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

TEST_CASE("queue/discard: every message is OK Discarded") {
    FakeContext ctx;
    PluginHarness p(ctx, "queue/discard");
    REQUIRE_FALSE(p.init_error);
    REQUIRE(p.handlers(hooks::Hook::Queue) == 1);
    auto v = p.call(hooks::Hook::Queue);
    CHECK(std::string(result_name(v)) == "OK");
    CHECK(test::text_of(v) == "Discarded");
    ctx.txn.emplace();
    ctx.txn->id = "abc.1";
    CHECK(std::string(result_name(p.call(hooks::Hook::Queue))) == "OK");
    CHECK(ctx.log_text().find("abc.1") != std::string::npos);
}

TEST_CASE("queue/discard: arguments refused") {
    FakeContext ctx;
    CHECK(PluginHarness(ctx, "queue/discard", {"now"}).init_error);
}

}  // namespace ASMTPD_TEST_UNIT
