// spp_setup_test.cpp - tests how plugins/spp/spp.cpp finds and loads smtpplugins: a missing
// file (421, or off with 'missing disable', or NOSPP), SPPCONFFILE, reload on change with a
// per-session snapshot, and the plugin's arguments.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "hooks/defaults.hpp"
#include "t/plugins/spp/spp_scripts.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using namespace asmtpd::test::spp_scripts;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

TEST_CASE("spp: missing smtpplugins -> 421 in place of the greeting; 'missing disable' turns spp off") {
    // Without 'missing', a missing file fails the load, naming the file and the choices.
    FakeContext ctx0;
    PluginHarness none(ctx0, "spp");
    REQUIRE(none.init_error);
    CHECK(none.init_error->find("smtpplugins does not exist: create it, or say 'missing tempfail'") != std::string::npos);

    FakeContext ctx;
    PluginHarness p(ctx, "spp", {"missing", "tempfail"});
    REQUIRE_FALSE(p.init_error);
    auto v = p.call(hooks::Hook::Connect);
    REQUIRE(v);
    auto d = hooks::dispose(hooks::Hook::Connect, *v);
    CHECK(d.action == hooks::Action::RespondClose);
    CHECK(d.reply.wire(true) == "421 unable to read controls (#4.3.0)\r\n");
    CHECK(ctx.log_text().find("cannot read") != std::string::npos);

    FakeContext ctx2;
    PluginHarness q(ctx2, "spp", {"missing", "disable"});
    CHECK(std::string(result_name(q.call(hooks::Hook::Connect))) == "DECLINED");
    ctx2.txn.emplace();
    CHECK(std::string(result_name(q.mail("a", "b.example"))) == "DECLINED");

    // NOSPP (any value, even empty) means the file is not even looked at.
    FakeContext ctx3;
    ctx3.conn.env["NOSPP"] = "";
    PluginHarness r(ctx3, "spp", {"missing", "tempfail"});
    CHECK(std::string(result_name(r.call(hooks::Hook::Connect))) == "DECLINED");
}

TEST_CASE("spp: SPPCONFFILE, reload on change, and a per-session snapshot") {
    FakeContext ctx;
    ctx.dir().write("alt", "[mail]\n:echo E550 from alt\n");
    ctx.write_config("smtpplugins", "[mail]\n:echo E550 from default\n");
    PluginHarness p(ctx, "spp");
    ctx.conn.env["SPPCONFFILE"] = "alt";   // relative to qmail's home (the config dir here)
    p.call(hooks::Hook::Connect);
    ctx.txn.emplace();
    CHECK(wire(hooks::Hook::Mail, p.mail("a", "b.example")) == "550 from alt\r\n");

    FakeContext c2;
    c2.write_config("smtpplugins", "[mail]\n:echo E550 v1\n");
    PluginHarness q(c2, "spp");
    q.call(hooks::Hook::Connect);
    c2.txn.emplace();
    CHECK(wire(hooks::Hook::Mail, q.mail("a", "b.example")) == "550 v1\r\n");
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));   // past the once-a-second check
    c2.dir().write("smtpplugins", "[mail]\n:echo E550 version two\n");
    CHECK(wire(hooks::Hook::Mail, q.mail("a", "b.example")) == "550 v1\r\n");   // this session's snapshot
    q.call(hooks::Hook::Disconnect);
    q.call(hooks::Hook::Connect);                                                // "next connection"
    CHECK(wire(hooks::Hook::Mail, q.mail("a", "b.example")) == "550 version two\r\n");
    CHECK(c2.log_text().find("loaded") != std::string::npos);
}

TEST_CASE("spp: arguments") {
    FakeContext ctx;
    for (std::vector<std::string> bad : {std::vector<std::string>{"missing", "maybe"}, {"timeout", "0"}, {"timeout", "x"},
                                         {"budget", "-1"}, {"a", "b", "c", "d", "e"}, {"cwd", "/nonexistent/dir"},
                                         {"enable", "sometimes"}, {"protect", "BAD-NAME"}, {"frobnicate", "1"}}) {
        PluginHarness p(ctx, "spp", bad);
        CHECK_MESSAGE(p.init_error, bad.front());
    }
    PluginHarness ok(ctx, "spp", {"control/smtpplugins", "missing", "disable", "timeout", "1.5", "budget", "10",
                                  "data_budget", "5", "cwd", ".", "enable", "explicit", "protect", "A,B_2"});
    CHECK_FALSE(ok.init_error);
    CHECK(ok.plugin().timeout() >= std::chrono::milliseconds(20000));
    // enable explicit: nothing runs without ENABLE_SPP.
    CHECK(std::string(result_name(ok.call(hooks::Hook::Connect))) == "DECLINED");
}

}  // namespace ASMTPD_TEST_UNIT
