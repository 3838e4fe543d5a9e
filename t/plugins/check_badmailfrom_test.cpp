// check_badmailfrom_test.cpp - tests plugins/check_badmailfrom.cpp (and its badmailfrom alias).
#include <doctest/doctest.h>

#include "hooks/defaults.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

TEST_CASE("check_badmailfrom: addresses, whole domains, case, messages") {
    FakeContext ctx;
    ctx.write_config("badmailfrom",
                     "spammer@example.com\n"
                     "@spam.example   Your domain sends junk\n"
                     "!.*@regex\\.example\n"
                     "Boss@Corp.Example\tNo\tbosses here\n");
    for (const char* name : {"check_badmailfrom", "badmailfrom"}) {
        CAPTURE(name);
        PluginHarness p(ctx, name);
        REQUIRE_FALSE(p.init_error);
        REQUIRE(p.handlers(hooks::Hook::Mail) == 1);

        auto v = p.mail("spammer", "example.com");
        CHECK(std::string(result_name(v)) == "DENY");
        CHECK(test::text_of(v) == "Your envelope sender is in my badmailfrom list");
        CHECK(std::string(result_name(p.mail("SPAMMER", "Example.COM"))) == "DENY");
        CHECK(std::string(result_name(p.mail("spammer2", "example.com"))) == "DECLINED");
        CHECK(std::string(result_name(p.mail("other", "example.com"))) == "DECLINED");

        v = p.mail("anyone", "SPAM.example");
        CHECK(std::string(result_name(v)) == "DENY");
        CHECK(test::text_of(v) == "Your domain sends junk");
        CHECK(std::string(result_name(p.mail("anyone", "sub.spam.example"))) == "DECLINED");

        v = p.mail("boss", "corp.example");
        CHECK(std::string(result_name(v)) == "DENY");
        CHECK(test::text_of(v) == "No\tbosses here");

        // '!' lines are skipped, not taken literally.
        CHECK(std::string(result_name(p.mail("x", "regex.example"))) == "DECLINED");
    }
}

TEST_CASE("check_badmailfrom: the null sender never matches") {
    FakeContext ctx;
    ctx.write_config("badmailfrom", "@\n<>\n@example.com\n");
    PluginHarness p(ctx, "check_badmailfrom");
    REQUIRE_FALSE(p.init_error);
    CHECK(std::string(result_name(p.mail("", ""))) == "DECLINED");
    CHECK(std::string(result_name(p.call(hooks::Hook::Mail))) == "DECLINED");   // no address at all
}

TEST_CASE("check_badmailfrom: the earlier matching line gives the message") {
    FakeContext ctx;
    ctx.write_config("badmailfrom", "@example.com domain rule\njoe@example.com address rule\n");
    PluginHarness p(ctx, "check_badmailfrom");
    auto v = p.mail("joe", "example.com");
    REQUIRE(v);
    CHECK(test::text_of(v) == "domain rule");

    ctx.write_config("badmailfrom", "joe@example.com address rule\n@example.com domain rule\n");
    PluginHarness q(ctx, "check_badmailfrom");
    v = q.mail("joe", "example.com");
    REQUIRE(v);
    CHECK(test::text_of(v) == "address rule");
}

TEST_CASE("check_badmailfrom: no file, nothing blocked; arguments refused") {
    FakeContext ctx;
    PluginHarness p(ctx, "check_badmailfrom");
    REQUIRE_FALSE(p.init_error);
    CHECK(std::string(result_name(p.mail("a", "b.example"))) == "DECLINED");
    CHECK(PluginHarness(ctx, "badmailfrom", {"reject", "0"}).init_error);
}

TEST_CASE("check_badmailfrom at rcpt: MAIL flags, each RCPT gets qmail's 553, the flag dies with the transaction") {
    FakeContext ctx;
    ctx.write_config("badmailfrom", "@spam.example\n");
    PluginHarness p(ctx, "check_badmailfrom", {"at", "rcpt"});
    REQUIRE_FALSE(p.init_error);
    CHECK(p.handlers(hooks::Hook::Mail) == 1);
    CHECK(p.handlers(hooks::Hook::RcptPre) == 1);

    ctx.txn.emplace();
    CHECK(std::string(result_name(p.mail("joe", "spam.example"))) == "DECLINED");   // MAIL is accepted
    for (int i = 0; i < 2; ++i) {
        auto v = p.call(hooks::Hook::RcptPre);
        REQUIRE(v);
        CHECK(v->result == hooks::Result::Deny);
        REQUIRE(v->reply);
        auto d = hooks::dispose(hooks::Hook::RcptPre, *v);
        CHECK(d.action == hooks::Action::Respond);
        CHECK(d.reply.wire(true) == "553 sorry, your envelope sender is in my badmailfrom list (#5.7.1)\r\n");
    }
    // A new transaction (RSET, or MAIL after the end of one) starts clean.
    ctx.txn.emplace();
    CHECK(std::string(result_name(p.call(hooks::Hook::RcptPre))) == "DECLINED");
    CHECK(std::string(result_name(p.mail("joe", "good.example"))) == "DECLINED");
    CHECK(std::string(result_name(p.call(hooks::Hook::RcptPre))) == "DECLINED");
    // No transaction at all: nothing to check.
    ctx.txn.reset();
    CHECK(std::string(result_name(p.call(hooks::Hook::RcptPre))) == "DECLINED");
}

TEST_CASE("check_badmailfrom: the default still refuses at MAIL and registers no rcpt_pre") {
    FakeContext ctx;
    ctx.write_config("badmailfrom", "@spam.example\n");
    PluginHarness p(ctx, "check_badmailfrom");
    CHECK(p.handlers(hooks::Hook::RcptPre) == 0);
    ctx.txn.emplace();
    CHECK(std::string(result_name(p.mail("joe", "spam.example"))) == "DENY");
    CHECK(ctx.txn->notes.empty());
    CHECK(PluginHarness(ctx, "check_badmailfrom", {"at"}).init_error);
    CHECK(PluginHarness(ctx, "check_badmailfrom", {"at", "mail"}).init_error);
    CHECK(PluginHarness(ctx, "check_badmailfrom", {"at", "rcpt", "x"}).init_error);
}

}  // namespace ASMTPD_TEST_UNIT
