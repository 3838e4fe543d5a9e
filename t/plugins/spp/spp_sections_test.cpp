// spp_sections_test.cpp - tests the sections of plugins/spp/spp.cpp that run at the "post"
// hooks: [X-data_post] reads the message at data_post, [auth] runs at auth_post (its H lines wait
// for DATA), [pass] at rcpt_post with the recipient counted.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>
#include <variant>
#include <vector>

#include "core/io/spool.hpp"
#include "hooks/defaults.hpp"
#include "t/plugins/spp/spp_scripts.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using namespace asmtpd::test::spp_scripts;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

TEST_CASE("spp: X-data_post programs read the message and use the same language") {
    FakeContext ctx;
    std::string copy = ctx.dir() / "copy";
    ctx.write_config("smtpplugins",
                     "[X-data_post]\n:cat > " + copy + "; echo 'HX-Scanned: yes'; grep -q VIRUS " + copy +
                         " && echo 'E554 5.7.1 infected'; true\n");
    PluginHarness p(ctx, "spp");
    p.call(hooks::Hook::Connect);
    ctx.txn.emplace();
    ctx.txn->received = "Received: from x\r\n";
    ctx.txn->body = io::Spool::create(ctx.loop(), ctx.dir().path(), 1 << 20);
    ctx.txn->body->append("Subject: hi\r\n\r\nclean\r\n");
    bool finished = false;
    ctx.txn->body->finish([&](bool) { finished = true; });
    REQUIRE(spin(ctx, [&] { return finished; }));
    CHECK(std::string(result_name(p.call(hooks::Hook::DataPost))) == "DECLINED");
    CHECK(slurp(copy) == "Received: from x\r\nSubject: hi\r\n\r\nclean\r\n");
    CHECK(ctx.txn->added_headers == std::vector<std::string>{"X-Scanned: yes"});

    ctx.txn->added_headers.clear();
    auto body = io::Spool::create(ctx.loop(), ctx.dir().path(), 1 << 20);
    body->append("Subject: VIRUS\r\n\r\nx\r\n");
    finished = false;
    body->finish([&](bool) { finished = true; });
    REQUIRE(spin(ctx, [&] { return finished; }));
    ctx.txn->body = body;
    auto v = p.call(hooks::Hook::DataPost);
    CHECK(wire(hooks::Hook::DataPost, v) == "554 5.7.1 infected\r\n");
}

TEST_CASE("spp: [auth] runs at auth_post with SMTPAUTHUSER/SMTPAUTHMETHOD; its H lines wait for DATA") {
    FakeContext ctx;
    std::string log = ctx.dir() / "auth.log";
    script(ctx, "a1", "echo \"$SMTPAUTHUSER/$SMTPAUTHMETHOD/${RELAYCLIENT-unset}\" >> " + log +
                          "\necho 'HX-Auth: yes'\ncase $SMTPAUTHUSER in mallory) echo 'E535 5.7.8 no';; esac\n");
    script(ctx, "a2", "echo a2 >> " + log + "\n");
    ctx.write_config("smtpplugins", "[auth]\na1\na2\n");
    PluginHarness p(ctx, "spp");
    REQUIRE_FALSE(p.init_error);
    REQUIRE(p.handlers(hooks::Hook::AuthPost) == 1);
    p.call(hooks::Hook::Connect);
    auto bad = p.call(hooks::Hook::AuthPost, auth_args("LOGIN", "mallory"));
    CHECK(std::string(result_name(bad)) == "DENY");
    CHECK(wire(hooks::Hook::AuthPost, bad) == "535 5.7.8 no\r\n");
    auto good = p.call(hooks::Hook::AuthPost, auth_args("CRAM-MD5", "alice"));
    CHECK(std::string(result_name(good)) == "DECLINED");
    CHECK(slurp(log) == "mallory/login/unset\nalice/cram-md5/unset\na2\n");   // a2 not after the E
    // The H lines of both runs (the refused one too, qmail's way) wait for the first DATA.
    ctx.txn.emplace();
    CHECK(std::string(result_name(p.call(hooks::Hook::Data))) == "DECLINED");
    CHECK(ctx.txn->added_headers == std::vector<std::string>{"X-Auth: yes", "X-Auth: yes"});
    ctx.txn.emplace();   // the next message of the session gets none
    CHECK(std::string(result_name(p.call(hooks::Hook::Data))) == "DECLINED");
    CHECK(ctx.txn->added_headers.empty());
}

TEST_CASE("spp: [auth] D closes silently; A in [auth] switches spp off; no [auth] declines") {
    FakeContext ctx;
    ctx.write_config("smtpplugins", "[auth]\n:echo D\n");
    PluginHarness p(ctx, "spp");
    p.call(hooks::Hook::Connect);
    auto d = p.call(hooks::Hook::AuthPost, auth_args("PLAIN", "x"));
    REQUIRE(d);
    CHECK(hooks::dispose(hooks::Hook::AuthPost, *d).action == hooks::Action::SilentClose);

    FakeContext ctx2;
    std::string marker = ctx2.dir() / "ran";
    ctx2.write_config("smtpplugins", "[auth]\n:echo A\n[mail]\n:touch " + marker + "\n");
    PluginHarness q(ctx2, "spp");
    q.call(hooks::Hook::Connect);
    CHECK(std::string(result_name(q.call(hooks::Hook::AuthPost, auth_args("PLAIN", "x")))) == "DECLINED");
    ctx2.txn.emplace();
    q.mail("a", "example.org");
    CHECK_FALSE(std::filesystem::exists(marker));

    FakeContext ctx3;
    ctx3.write_config("smtpplugins", "[mail]\n");
    PluginHarness r(ctx3, "spp");
    r.call(hooks::Hook::Connect);
    CHECK(std::string(result_name(r.call(hooks::Hook::AuthPost, auth_args("LOGIN", "bob")))) == "DECLINED");
    CHECK(ctx3.conn.env.at("SMTPAUTHMETHOD") == "login");   // set whether or not programs run
}

TEST_CASE("spp: [pass] runs at rcpt_post with the recipient counted; C changes the stored address") {
    FakeContext ctx;
    std::string log = ctx.dir() / "pass.log";
    ctx.write_config("rcpthosts", "example.org\n");
    script(ctx, "r", "echo \"rcpt $SMTPRCPTTO $SMTPRCPTCOUNT/$SMTPRCPTCOUNTALL\" >> " + log + "\n");
    script(ctx, "p", "echo \"pass $SMTPRCPTTO $SMTPRCPTCOUNT/$SMTPRCPTCOUNTALL\" >> " + log +
                         "\ncase $SMTPRCPTTO in\n  moved@*) echo Cother@example.org;;\n"
                         "  late@*) echo 'E450 4.7.1 not now';;\nesac\n");
    ctx.write_config("smtpplugins", "[rcpt]\nr\n[pass]\np\n");
    PluginHarness p(ctx, "spp");
    REQUIRE(p.handlers(hooks::Hook::RcptPost) == 1);
    p.call(hooks::Hook::Connect);
    ctx.txn.emplace();
    auto accept = [&](const std::string& local) {   // what the session does: store, then rcpt_post
        auto args = PluginHarness::address_args(local, "example.org");
        REQUIRE(std::string(result_name(p.call(hooks::Hook::Rcpt, args))) == "DECLINED");
        ctx.txn->recipients.push_back(std::get<hooks::AddressArgs>(args).address);
        return p.call(hooks::Hook::RcptPost, args);
    };
    auto one = accept("one");
    CHECK(std::string(result_name(one)) == "DECLINED");
    CHECK_FALSE(one->address);
    auto moved = accept("moved");
    CHECK(std::string(result_name(moved)) == "DECLINED");
    REQUIRE(moved->address);
    CHECK(moved->address->format() == "<other@example.org>");
    auto late = accept("late");
    CHECK(std::string(result_name(late)) == "DENYSOFT");
    CHECK(wire(hooks::Hook::RcptPost, late) == "450 4.7.1 not now\r\n");
    CHECK(slurp(log) == "rcpt one@example.org 0/1\npass one@example.org 1/1\n"
                        "rcpt moved@example.org 1/2\npass moved@example.org 2/2\n"
                        "rcpt late@example.org 2/3\npass late@example.org 3/3\n");
}

TEST_CASE("spp: without [pass] programs rcpt_post changes nothing (qmail-spp 0.42 environment)") {
    FakeContext ctx;
    ctx.write_config("smtpplugins", "[rcpt]\n:true\n");
    PluginHarness p(ctx, "spp");
    p.call(hooks::Hook::Connect);
    ctx.txn.emplace();
    auto args = PluginHarness::address_args("a", "example.org");
    p.call(hooks::Hook::Rcpt, args);
    ctx.txn->recipients.push_back(std::get<hooks::AddressArgs>(args).address);
    CHECK(std::string(result_name(p.call(hooks::Hook::RcptPost, args))) == "DECLINED");
    CHECK(ctx.conn.env.at("SMTPRCPTCOUNT") == "0");   // as [rcpt] left it
}

}  // namespace ASMTPD_TEST_UNIT
