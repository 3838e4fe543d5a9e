// rcpt_ok_test.cpp - tests plugins/rcpt_ok.cpp: local domains, suffixes, case, relay clients.
#include <doctest/doctest.h>

#include "hooks/defaults.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

TEST_CASE("rcpt_ok: me, rcpthosts and morercpthosts are local") {
    FakeContext ctx;
    ctx.write_config("me", "mail.example.org\n");
    ctx.write_config("rcpthosts", "# local domains\nexample.com\n.sub.example.net\n  Example.EDU  \n[192.0.2.1]\n");
    ctx.write_config("morercpthosts", "more.example\n");
    PluginHarness p(ctx, "rcpt_ok");
    REQUIRE_FALSE(p.init_error);
    CHECK(p.handlers(hooks::Hook::Rcpt) == 1);

    CHECK(std::string(result_name(p.rcpt("joe", "mail.example.org"))) == "OK");
    CHECK(std::string(result_name(p.rcpt("joe", "example.com"))) == "OK");
    CHECK(std::string(result_name(p.rcpt("joe", "EXAMPLE.Com"))) == "OK");
    CHECK(std::string(result_name(p.rcpt("joe", "example.edu"))) == "OK");
    CHECK(std::string(result_name(p.rcpt("joe", "more.example"))) == "OK");
    CHECK(std::string(result_name(p.rcpt("joe", "[192.0.2.1]"))) == "OK");
    // The hostname fact is not "me" when a me file exists.
    CHECK(std::string(result_name(p.rcpt("joe", "mx.example.org"))) == "DENY");
}

TEST_CASE("rcpt_ok: .suffix entries match subdomains only, on label boundaries") {
    FakeContext ctx;
    ctx.write_config("rcpthosts", ".sub.example.net\nexample.com\n");
    PluginHarness p(ctx, "rcpt_ok");
    REQUIRE_FALSE(p.init_error);
    CHECK(std::string(result_name(p.rcpt("a", "x.sub.example.net"))) == "OK");
    CHECK(std::string(result_name(p.rcpt("a", "y.x.SUB.example.net"))) == "OK");
    CHECK(std::string(result_name(p.rcpt("a", "sub.example.net"))) == "DENY");      // not the domain itself
    CHECK(std::string(result_name(p.rcpt("a", "xsub.example.net"))) == "DENY");     // not a label boundary
    CHECK(std::string(result_name(p.rcpt("a", "www.example.com"))) == "DENY");      // exact entry: no subdomains
    CHECK(std::string(result_name(p.rcpt("a", "example.com.evil.test"))) == "DENY");
    CHECK(std::string(result_name(p.rcpt("a", "[192.0.2.1]"))) == "DENY");
}

TEST_CASE("rcpt_ok: foreign domains are denied with Relaying denied") {
    FakeContext ctx;
    ctx.write_config("rcpthosts", "example.com\n");
    PluginHarness p(ctx, "rcpt_ok");
    auto v = p.rcpt("victim", "elsewhere.test");
    REQUIRE(v);
    CHECK(std::string(result_name(v)) == "DENY");
    CHECK(test::text_of(v) == "Relaying denied");
}

TEST_CASE("rcpt_ok: without a me file the server hostname is local") {
    FakeContext ctx;
    ctx.facts.hostname = "Host.Example.ORG";
    PluginHarness p(ctx, "rcpt_ok");
    CHECK(std::string(result_name(p.rcpt("x", "host.example.org"))) == "OK");
    CHECK(std::string(result_name(p.rcpt("x", "example.org"))) == "DENY");
}

TEST_CASE("rcpt_ok: relay clients may send anywhere") {
    FakeContext ctx;
    PluginHarness p(ctx, "rcpt_ok");
    CHECK(std::string(result_name(p.rcpt("x", "far.away.test"))) == "DENY");
    ctx.conn.relay_client = true;
    CHECK(std::string(result_name(p.rcpt("x", "far.away.test"))) == "OK");
}

TEST_CASE("rcpt_ok: bare postmaster and abuse, nothing else without a domain") {
    FakeContext ctx;
    PluginHarness p(ctx, "rcpt_ok");
    CHECK(std::string(result_name(p.rcpt("postmaster", ""))) == "OK");
    CHECK(std::string(result_name(p.rcpt("PostMaster", ""))) == "OK");
    CHECK(std::string(result_name(p.rcpt("abuse", ""))) == "OK");
    CHECK(std::string(result_name(p.rcpt("root", ""))) == "DENY");
    CHECK(std::string(result_name(p.rcpt("postmasterx", ""))) == "DENY");
    // postmaster at a foreign domain is still relaying.
    CHECK(std::string(result_name(p.rcpt("postmaster", "elsewhere.test"))) == "DENY");
}

TEST_CASE("rcpt_ok: arguments are refused") {
    FakeContext ctx;
    PluginHarness bad(ctx, "rcpt_ok", {"extra"});
    CHECK(bad.init_error);
}

TEST_CASE("rcpt_ok qmail: qmail-smtpd's exact 553 text, no enhanced code added") {
    FakeContext ctx;
    ctx.write_config("rcpthosts", "example.com\n");
    PluginHarness p(ctx, "rcpt_ok", {"qmail"});
    REQUIRE_FALSE(p.init_error);
    CHECK(std::string(result_name(p.rcpt("a", "example.com"))) == "OK");
    auto v = p.rcpt("a", "elsewhere.test");
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Deny);
    REQUIRE(v->reply);
    CHECK(v->verbatim);
    auto d = hooks::dispose(hooks::Hook::Rcpt, *v);
    CHECK(d.action == hooks::Action::Respond);
    CHECK(d.reply.wire(true) == "553 sorry, that domain isn't in my list of allowed rcpthosts (#5.7.1)\r\n");
    // Bare addresses other than postmaster/abuse get the same text.
    v = p.rcpt("root", "");
    REQUIRE(v);
    CHECK(v->reply->code == 553);
    // Relay clients pass whatever the domain.
    ctx.conn.relay_client = true;
    CHECK(std::string(result_name(p.rcpt("a", "elsewhere.test"))) == "OK");
}

TEST_CASE("rcpt_ok: only 'qmail' is accepted as an argument") {
    FakeContext ctx;
    CHECK(PluginHarness(ctx, "rcpt_ok", {"qmail", "qmail"}).init_error);
    CHECK(PluginHarness(ctx, "rcpt_ok", {"QMAIL"}).init_error);
    CHECK_FALSE(PluginHarness(ctx, "rcpt_ok", {"qmail"}).init_error);
}

}  // namespace ASMTPD_TEST_UNIT
