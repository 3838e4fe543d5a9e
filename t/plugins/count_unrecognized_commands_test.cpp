// count_unrecognized_commands_test.cpp - tests plugins/count_unrecognized_commands.cpp.
#include <doctest/doctest.h>

#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

namespace {

std::optional<hooks::Verdict> unknown(PluginHarness& p) {
    return p.call(hooks::Hook::UnrecognizedCommand, hooks::CommandArgs{"FOO", ""});
}

}  // namespace

TEST_CASE("count_unrecognized_commands: the 4th unknown verb disconnects by default") {
    FakeContext ctx;
    PluginHarness p(ctx, "count_unrecognized_commands");
    REQUIRE_FALSE(p.init_error);
    for (int i = 1; i <= 3; ++i) {
        CAPTURE(i);
        CHECK(std::string(result_name(unknown(p))) == "DECLINED");
        CHECK(ctx.notes_map["count_unrecognized_commands"] == std::to_string(i));
    }
    auto v = unknown(p);
    CHECK(std::string(result_name(v)) == "DENY_DISCONNECT");
    CHECK(test::text_of(v) == "Too many unrecognized commands");
}

TEST_CASE("count_unrecognized_commands: counts are per connection") {
    FakeContext a, b;
    PluginHarness pa(a, "count_unrecognized_commands", {"2"});
    PluginHarness pb(b, "count_unrecognized_commands", {"2"});
    CHECK(std::string(result_name(unknown(pa))) == "DECLINED");
    CHECK(std::string(result_name(unknown(pb))) == "DECLINED");
    CHECK(std::string(result_name(unknown(pa))) == "DENY_DISCONNECT");
    CHECK(b.notes_map["count_unrecognized_commands"] == "1");
}

TEST_CASE("count_unrecognized_commands: N=1, and a second instance keeps its own count") {
    FakeContext ctx;
    PluginHarness one(ctx, "count_unrecognized_commands", {"1"});
    CHECK(std::string(result_name(unknown(one))) == "DENY_DISCONNECT");
    PluginHarness other(ctx, "count_unrecognized_commands", {"3"}, "count_unrecognized_commands:2");
    CHECK(std::string(result_name(unknown(other))) == "DECLINED");
    CHECK(ctx.notes_map["count_unrecognized_commands:2"] == "1");
    CHECK(ctx.notes_map["count_unrecognized_commands"] == "1");
}

TEST_CASE("count_unrecognized_commands: a garbled note counts from zero") {
    FakeContext ctx;
    ctx.notes_map["count_unrecognized_commands"] = "lots";
    PluginHarness p(ctx, "count_unrecognized_commands", {"2"});
    CHECK(std::string(result_name(unknown(p))) == "DECLINED");
    CHECK(std::string(result_name(unknown(p))) == "DENY_DISCONNECT");
}

TEST_CASE("count_unrecognized_commands: bad arguments") {
    FakeContext ctx;
    for (std::vector<std::string> bad : {std::vector<std::string>{"0"}, {"-1"}, {"x"}, {"4", "5"}, {""},
                                         {"99999999999999999999999"}}) {
        CHECK(PluginHarness(ctx, "count_unrecognized_commands", bad).init_error);
    }
}

}  // namespace ASMTPD_TEST_UNIT
