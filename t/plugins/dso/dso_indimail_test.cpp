// dso_indimail_test.cpp - tests plugins/dso/dso.cpp with dso_legacy on IndiMail fixtures: every
// IndiMail rule of SPP.md §6 (the exact reply, NULL or malformed messages, 421, the arguments in
// hook order, data_func after the body).
#include <doctest/doctest.h>
#include <stdlib.h>

#include <string>

#include "hooks/defaults.hpp"
#include "t/plugins/dso/dso_calls.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using namespace asmtpd::test::dso_calls;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

TEST_CASE("dso IndiMail: rcpt_func's message is the exact reply; 0 declines") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("indimail_reject")});
    REQUIRE_FALSE(h.init_error);
    open_txn(ctx);
    auto blocked = h.call(hooks::Hook::Rcpt, addr("blocked"));
    CHECK(std::string(result_name(blocked)) == "DENY");
    CHECK(wire(hooks::Hook::Rcpt, blocked) == "553 no\r\n");
    CHECK(wire(hooks::Hook::Rcpt, h.call(hooks::Hook::Rcpt, addr("multi"))) == "553-first\r\n553 second\r\n");
    CHECK(wire(hooks::Hook::Rcpt, h.call(hooks::Hook::Rcpt, addr("nocrlf"))) == "554 5.7.1 no crlf\r\n");
    auto fine = h.call(hooks::Hook::Rcpt, addr("someone"));
    CHECK(std::string(result_name(fine)) == "DECLINED");
}

TEST_CASE("dso IndiMail: NULL or malformed messages give 451 4.3.0 rejected by plugin") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("indimail_reject")});
    open_txn(ctx);
    for (const char* who : {"nullmsg", "badcode"}) {
        CAPTURE(who);
        auto v = h.call(hooks::Hook::Rcpt, addr(who));
        CHECK(std::string(result_name(v)) == "DENYSOFT");
        CHECK(wire(hooks::Hook::Rcpt, v) == "451 4.3.0 rejected by plugin\r\n");
    }
    CHECK(ctx.log_text().find("NULL message") != std::string::npos);
    CHECK(ctx.log_text().find("malformed message '250 ok") != std::string::npos);
}

TEST_CASE("dso IndiMail: a 421 text is a temporary refusal; the session continues") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("indimail_reject")});
    open_txn(ctx);
    auto v = h.call(hooks::Hook::Rcpt, addr("soft"));
    REQUIRE(v);
    auto d = hooks::dispose(hooks::Hook::Rcpt, *v);
    CHECK(d.action == hooks::Action::Respond);
    CHECK(d.reply.wire(true) == "421 go away\r\n");
}

TEST_CASE("dso IndiMail: arguments are the bare addresses, \"\" for the null sender") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("indimail_reject")});
    open_txn(ctx, "<>");
    CHECK(wire(hooks::Hook::Rcpt, h.call(hooks::Hook::Rcpt, addr("args"))) ==
          "553 ip=192.0.2.10 from=<> rcpt=<args@example.test>\r\n");
    open_txn(ctx, "boss@corp.test");
    ctx.conn.remote_ip = "2001:db8::7";
    CHECK(wire(hooks::Hook::Rcpt, h.call(hooks::Hook::Rcpt, addr("args", "Other.Test"))) ==
          "553 ip=2001:db8::7 from=<boss@corp.test> rcpt=<args@Other.Test>\r\n");
}

TEST_CASE("dso IndiMail: every function gets its arguments, in hook order") {
    FakeContext ctx;
    std::string rec = ctx.dir() / "record";
    REQUIRE(::setenv("DSO_RECORD", rec.c_str(), 1) == 0);
    {
        PluginHarness h(ctx, "dso", {fixture("indimail_record")});
        REQUIRE_FALSE(h.init_error);
        ctx.txn.emplace();
        CHECK(std::string(result_name(h.call(hooks::Hook::Mail, addr("from", "a.test")))) == "DECLINED");
        open_txn(ctx, "from@a.test");
        CHECK(std::string(result_name(h.call(hooks::Hook::Rcpt, addr("to", "b.test")))) == "DECLINED");
        add_body(ctx, "hi\r\n");
        CHECK(std::string(result_name(h.call(hooks::Hook::DataPost))) == "DECLINED");
        ctx.conn.auth_user = "alice";
        ctx.conn.remote_host = "client.example";
        CHECK(std::string(result_name(h.call(hooks::Hook::DataPost))) == "DECLINED");
    }
    ::unsetenv("DSO_RECORD");
    CHECK(test::read_file(rec) ==
          "mail 192.0.2.10 <from@a.test>\n"
          "rcpt 192.0.2.10 <from@a.test> <to@b.test>\n"
          "data mx.example.org 192.0.2.10 unknown []\n"
          "data mx.example.org 192.0.2.10 client.example [alice]\n");
}

TEST_CASE("dso IndiMail: data_func runs after the body and its refusal is final (#51)") {
    FakeContext ctx;
    PluginHarness h(ctx, "dso", {fixture("indimail_data")});
    REQUIRE_FALSE(h.init_error);
    CHECK(h.handlers(hooks::Hook::DataPost) == 1);
    open_txn(ctx, "s@example.test", {"r@example.test"});
    add_body(ctx, "Subject: x\r\n\r\nbody\r\n");
    auto v = h.call(hooks::Hook::DataPost);
    CHECK(std::string(result_name(v)) == "DENY");
    auto d = hooks::dispose(hooks::Hook::DataPost, *v);
    CHECK(d.action == hooks::Action::Respond);   // the session resets: nothing is queued
    CHECK(d.reply.wire(true) ==
          "554 5.7.1 rejected: local=mx.example.org ip=192.0.2.10 host=unknown info=[]\r\n");
    ctx.txn.reset();   // no transaction: nothing to judge
    CHECK(std::string(result_name(h.call(hooks::Hook::DataPost))) == "DECLINED");
}

}  // namespace ASMTPD_TEST_UNIT
