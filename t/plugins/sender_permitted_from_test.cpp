// sender_permitted_from_test.cpp - tests plugins/sender_permitted_from.cpp: arguments and
// spfbehavior, immunity, and the DNS-failure path (FakeContext's resolver asks a closed
// loopback port, so every lookup fails: temperror). Results against real zones are in
// t/e2e/test_spf.py and the pyspf differential in t/e2e/test_spf_diff.py.
#include <doctest/doctest.h>

#include "core/proto/spf_header.hpp"
#include "t/support/dns_server.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;

namespace {
hooks::HookArgs mail_from(std::string local, std::string domain) {
    return hooks::AddressArgs{proto::Address{std::move(local), std::move(domain)}, {}};
}
void client(FakeContext& ctx) {
    ctx.conn.remote_ip = "192.0.2.1";
    ctx.conn.helo_host = "client.example.org";
    ctx.txn.emplace();
}
}  // namespace

TEST_CASE("sender_permitted_from: arguments, spf_deny and spfbehavior") {
    FakeContext ctx;
    for (auto args : std::vector<std::vector<std::string>>{{}, {"reject", "0"}, {"reject", "6"}, {"spf_deny", "1"}})
        CHECK_FALSE(PluginHarness(ctx, "sender_permitted_from", args).init_error);
    for (auto args : std::vector<std::vector<std::string>>{{"reject", "7"}, {"reject", "-1"}, {"reject"},
                                                           {"spf_deny", "3"}, {"rejekt", "3"}, {"3"}})
        CHECK(PluginHarness(ctx, "sender_permitted_from", args).init_error);
    ctx.write_config("spfbehavior", "9\n");
    CHECK(PluginHarness(ctx, "sender_permitted_from").init_error);
    CHECK_FALSE(PluginHarness(ctx, "sender_permitted_from", {"reject", "2"}).init_error);   // the line wins
}

TEST_CASE("sender_permitted_from: a DNS failure is temperror; deferred from reject 2 up") {
    FakeContext ctx;
    client(ctx);
    PluginHarness p1(ctx, "sender_permitted_from", {"reject", "1"});
    REQUIRE_FALSE(p1.init_error);
    auto v = p1.call(hooks::Hook::Mail, mail_from("user", "example.com"));
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Declined);
    REQUIRE(ctx.txn->added_headers.size() == 1);
    CHECK(ctx.txn->added_headers[0].rfind("Received-SPF: temperror (", 0) == 0);
    auto note = proto::spf::parse_spf_note(ctx.txn->notes["spf"]);
    REQUIRE(note);
    CHECK(note->result == proto::spf::Result::TempError);
    CHECK(note->domain == "example.com");

    ctx.txn.emplace();
    ctx.write_config("spfbehavior", "2\n");
    PluginHarness p2(ctx, "sender_permitted_from");
    REQUIRE_FALSE(p2.init_error);
    v = p2.call(hooks::Hook::Mail, mail_from("user", "example.com"));
    REQUIRE(v);
    CHECK(v->result == hooks::Result::DenySoft);
    REQUIRE(v->reply);
    CHECK(v->reply->code == 451);
    CHECK(v->reply->esc == "4.7.24");
    CHECK(v->reply->lines.at(0).rfind("SPF - temperror: ", 0) == 0);
}

TEST_CASE("sender_permitted_from: immune sessions are skipped without a header") {
    FakeContext ctx;
    client(ctx);
    PluginHarness p(ctx, "sender_permitted_from", {"reject", "6"});
    ctx.conn.relay_client = true;
    auto v = p.call(hooks::Hook::Mail, mail_from("user", "example.com"));
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Declined);
    CHECK(ctx.txn->added_headers.empty());
    CHECK(ctx.txn->notes.count("spf") == 0);
}

TEST_CASE("sender_permitted_from: a null sender is checked as postmaster@<HELO>") {
    FakeContext ctx;
    client(ctx);
    PluginHarness p(ctx, "sender_permitted_from", {"reject", "1"});
    auto v = p.call(hooks::Hook::Mail, mail_from("", ""));
    REQUIRE(v);
    auto note = proto::spf::parse_spf_note(ctx.txn->notes["spf"]);
    REQUIRE(note);
    CHECK(note->identity == proto::spf::Identity::Helo);
    CHECK(note->domain == "client.example.org");
    CHECK(ctx.txn->added_headers.at(0).find("envelope-from=\"\";") != std::string::npos);
}

TEST_CASE("sender_permitted_from: pass and fail against real zones, reject 3") {
    test::DnsTestServer dns("$TTL 60\n$ORIGIN example.com.\n"
                            "@ IN SOA ns.example.com. h.example.com. 1 60 60 60 30\n"
                            "@ IN TXT \"v=spf1 ip4:192.0.2.0/24 -all exp=why.example.com\"\n"
                            "why IN TXT \"%{i} is not one of %{d}'s senders\"\n");
    FakeContext ctx;
    ctx.dns_server = dns.address();
    client(ctx);
    PluginHarness p(ctx, "sender_permitted_from", {"reject", "3"});
    REQUIRE_FALSE(p.init_error);
    auto v = p.call(hooks::Hook::Mail, mail_from("user", "example.com"));
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Declined);
    CHECK(ctx.txn->notes["spf"] == "pass identity=mailfrom domain=example.com reason=matched ip4:192.0.2.0/24");

    ctx.txn.emplace();
    ctx.conn.remote_ip = "198.51.100.1";
    v = p.call(hooks::Hook::Mail, mail_from("user", "example.com"));
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Deny);
    REQUIRE(v->reply);
    CHECK(v->reply->code == 550);
    CHECK(v->reply->esc == "5.7.23");
    CHECK(v->reply->lines.at(0) == "SPF - forgery: 198.51.100.1 is not one of example.com's senders");
    CHECK(dns.queries("example.com", "TXT") == 1);   // the second check came from the cache
}

}  // namespace ASMTPD_TEST_UNIT
