// dkim_test.cpp - tests plugins/dkim/dkim.cpp: arguments; the observer attached at data and
// fed the content in odd-sized chunks as the session would; keys served by the test DNS
// server (t/e2e/dns_server.py); the verdicts, notes, log lines and the reject policy.
// Messages are signed by core/io/dkim_sign with the RFC 8463 keys; dkimpy-signed messages go
// through the real daemon in t/e2e/test_dkim.py.
#include <doctest/doctest.h>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/io/dkim_sign.hpp"
#include "plugins/common/dkim_note.hpp"
#include "plugins/dkim/dkim_observer.hpp"
#include "t/core/io/dkim_rfc8463.hpp"
#include "t/support/dns_server.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
namespace rfc = test::rfc8463;

namespace {

const std::string kMessage =
    "From: Joe <joe@example.net>\r\nTo: Suzie <suzie@example.org>\r\nSubject: dinner\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700\r\n\r\nHi.\r\n\r\nWe lost the game.  Are you hungry yet?\r\n";

// The DKIM-Signature field for `message`, by the RFC 8463 RSA or Ed25519 key.
std::string signature(std::string_view message, const std::string& selector, io::dkim::SignOptions o = {}) {
    auto key = io::dkim::load_private_key_pem(selector.rfind("ed", 0) == 0 ? rfc::kEd25519PrivatePem : rfc::kRsaPrivatePem);
    REQUIRE(key.key);
    o.domain = "example.net";
    o.selector = selector;
    auto r = io::dkim::sign_message(message, *key.key, o);
    INFO(r.error);
    REQUIRE(r.field);
    return *r.field;
}

std::string zones(std::string extra = {}) {
    std::string rsa(rfc::kRsaRecord);
    std::string testing = rsa;
    testing.replace(testing.find("k=rsa;"), 6, "k=rsa; t=y;");
    return "$TTL 60\n$ORIGIN example.net.\n@ IN SOA ns.example.net. h.example.net. 1 60 60 60 30\n"
           "rsa._domainkey IN TXT \"" + rsa + "\"\n"
           "ed._domainkey IN TXT \"" + std::string(rfc::kEd25519Record) + "\"\n"
           "split._domainkey IN TXT \"" + rsa.substr(0, 100) + "\" \"" + rsa.substr(100) + "\"\n"
           "testing._domainkey IN TXT \"" + testing + "\"\n"
           "revoked._domainkey IN TXT \"v=DKIM1; k=rsa; p=\"\n"
           "!drop slow._domainkey.example.net\n"
           "!servfail broken._domainkey.example.net\n" + extra;
}

// One message through the plugin: data (attach), the content in chunks of `chunk` bytes, the
// final dot, then data_post_headers. Returns its verdict.
std::optional<hooks::Verdict> deliver(FakeContext& ctx, PluginHarness& p, std::string_view message,
                                      std::size_t chunk = 7) {
    ctx.txn.emplace();
    auto v = p.call(hooks::Hook::Data);
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Declined);
    for (std::size_t at = 0; at < message.size(); at += chunk)
        for (const auto& o : ctx.txn->body_observers) o->content(message.substr(at, chunk));
    for (const auto& o : ctx.txn->body_observers) o->end();
    return p.call(hooks::Hook::DataPostHeaders);
}

std::vector<plugins::DkimNoteEntry> results(FakeContext& ctx) {
    return plugins::parse_dkim_results_note(ctx.txn->notes[std::string(plugins::kDkimResultsNote)]);
}

// kMessage with a body of several 64 KB batches (~330 KB), WSP runs included.
std::string large_message() {
    std::string m = kMessage;
    for (int i = 0; i < 4000; ++i) m += "line " + std::to_string(i) + " with  runs \t of WSP " + std::string(i % 60, 'z') + " \r\n";
    return m;
}

plugins::dkim::DkimObserver* observer_of(FakeContext& ctx) {
    REQUIRE(ctx.txn->body_observers.size() == 1);
    auto* seen = dynamic_cast<plugins::dkim::DkimObserver*>(ctx.txn->body_observers[0].get());
    REQUIRE(seen);
    return seen;
}

struct Fixture {
    test::DnsTestServer dns{zones()};
    FakeContext ctx;
    Fixture() { ctx.dns_server = dns.address(); }
};

}  // namespace

TEST_CASE("dkim: arguments") {
    FakeContext ctx;
    for (auto args : std::vector<std::vector<std::string>>{{}, {"reject", "1"}, {"reject", "naughty", "reject_type", "temp"},
                                                           {"timeout", "2.5"}, {"max_signatures", "1"}, {"max_signatures", "50"}})
        CHECK_FALSE(PluginHarness(ctx, "dkim", args).init_error);
    for (auto args : std::vector<std::vector<std::string>>{{"reject", "2"}, {"reject_type", "maybe"}, {"timeout", "x"},
                                                           {"max_signatures", "0"}, {"max_signatures", "51"}, {"sign"}})
        CHECK(PluginHarness(ctx, "dkim", args).init_error);
}

TEST_CASE("dkim: rsa-sha256 and ed25519-sha256 signatures pass, whatever the chunking") {
    Fixture f;
    const std::string message = signature(kMessage, "ed") + signature(kMessage, "rsa") + kMessage;
    for (std::size_t chunk : {std::size_t(1), std::size_t(2), std::size_t(3), std::size_t(64), message.size()}) {
        CAPTURE(chunk);
        PluginHarness p(f.ctx, "dkim", {"reject", "1"});
        auto v = deliver(f.ctx, p, message, chunk);
        REQUIRE(v);
        CHECK(v->result == hooks::Result::Declined);
        auto r = results(f.ctx);
        REQUIRE(r.size() == 2);
        CHECK(r[0].result == "pass");
        CHECK(r[0].algorithm == "ed25519-sha256");
        CHECK(r[1].result == "pass");
        CHECK(r[1].algorithm == "rsa-sha256");
        CHECK(r[1].domain == "example.net");
        CHECK(r[1].selector == "rsa");
        CHECK(r[1].identity == "@example.net");
        CHECK(r[1].reason.empty());
        const std::string note = f.ctx.txn->notes["dkim"];
        CHECK(note.rfind("pass header.d=example.net header.i=@example.net header.s=ed header.a=ed25519-sha256 header.b=", 0) == 0);
        CHECK(note.find("; pass header.d=example.net header.i=@example.net header.s=rsa header.a=rsa-sha256") != std::string::npos);
    }
    CHECK(f.ctx.log_text().find("dkim: pass d=example.net s=rsa a=rsa-sha256 i=@example.net") != std::string::npos);
}

TEST_CASE("dkim: a key in several TXT strings is joined; relaxed and simple canonicalization") {
    Fixture f;
    io::dkim::SignOptions simple;
    simple.header_canon = proto::dkim::Canon::Simple;
    simple.body_canon = proto::dkim::Canon::Simple;
    const std::string message = signature(kMessage, "split", simple) + kMessage;
    PluginHarness p(f.ctx, "dkim");
    auto v = deliver(f.ctx, p, message);
    REQUIRE(v);
    auto r = results(f.ctx);
    REQUIRE(r.size() == 1);
    CHECK(r[0].result == "pass");
}

TEST_CASE("dkim: an unsigned message is none; a message without a body still verifies") {
    Fixture f;
    PluginHarness p(f.ctx, "dkim", {"reject", "1"});
    auto v = deliver(f.ctx, p, kMessage);
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Declined);
    CHECK(f.ctx.txn->notes["dkim"] == "none");
    CHECK(f.ctx.txn->notes.count("dkim_results") == 0);
    CHECK(f.ctx.log_text().find("dkim: none, not signed") != std::string::npos);

    const std::string header_only = "From: joe@example.net\r\nSubject: x\r\n";   // no empty line at all
    v = deliver(f.ctx, p, signature(header_only, "rsa") + header_only, 5);
    REQUIRE(v);
    auto r = results(f.ctx);
    REQUIRE(r.size() == 1);
    CHECK(r[0].result == "pass");
}

TEST_CASE("dkim: a changed body fails; reject 0 notes it, reject 1 refuses with 550 5.7.20") {
    Fixture f;
    std::string message = signature(kMessage, "rsa") + kMessage;
    message.replace(message.find("hungry"), 6, "angry!");
    PluginHarness lenient(f.ctx, "dkim");
    auto v = deliver(f.ctx, lenient, message);
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Declined);
    auto r = results(f.ctx);
    REQUIRE(r.size() == 1);
    CHECK(r[0].result == "fail");
    CHECK(r[0].reason == "body hash did not verify");
    CHECK(f.ctx.txn->notes["dkim"].rfind("fail reason=\"body hash did not verify\" header.d=example.net", 0) == 0);
    CHECK(f.ctx.log_text().find("dkim: fail d=example.net s=rsa a=rsa-sha256 i=@example.net (body hash did not verify)") !=
          std::string::npos);

    PluginHarness strict(f.ctx, "dkim", {"reject", "1"});
    v = deliver(f.ctx, strict, message);
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Deny);
    REQUIRE(v->reply);
    CHECK(v->reply->code == 550);
    CHECK(v->reply->esc == "5.7.20");
    CHECK(v->reply->lines.at(0) == "No passing DKIM signature found");

    PluginHarness soft(f.ctx, "dkim", {"reject", "1", "reject_type", "temp"});
    v = deliver(f.ctx, soft, message);
    REQUIRE(v);
    CHECK(v->result == hooks::Result::DenySoft);
    REQUIRE(v->reply);
    CHECK(v->reply->code == 451);

    PluginHarness naughty(f.ctx, "dkim", {"reject", "naughty"});
    v = deliver(f.ctx, naughty, message);
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Declined);
    CHECK(f.ctx.notes()["naughty"] == "(dkim) No passing DKIM signature found");
}

TEST_CASE("dkim: one passing signature among failing ones is accepted under reject 1") {
    Fixture f;
    std::string message = signature(kMessage, "ed") + signature(kMessage, "missing") + kMessage;
    PluginHarness p(f.ctx, "dkim", {"reject", "1"});
    auto v = deliver(f.ctx, p, message);
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Declined);
    auto r = results(f.ctx);
    REQUIRE(r.size() == 2);
    CHECK(r[0].result == "pass");
    CHECK(r[1].result == "permerror");
    CHECK(r[1].reason == "no key for signature");
}

TEST_CASE("dkim: missing and revoked keys are permerror, refused under reject 1") {
    Fixture f;
    for (std::string selector : {"missing", "revoked"}) {
        CAPTURE(selector);
        PluginHarness p(f.ctx, "dkim", {"reject", "1"});
        auto v = deliver(f.ctx, p, signature(kMessage, selector) + kMessage);
        REQUIRE(v);
        CHECK(v->result == hooks::Result::Deny);
        auto r = results(f.ctx);
        REQUIRE(r.size() == 1);
        CHECK(r[0].result == "permerror");
        CHECK(r[0].selector == selector);
    }
}

TEST_CASE("dkim: a key lookup that times out or SERVFAILs is temperror, never refused") {
    Fixture f;
    for (std::string selector : {"slow", "broken"}) {
        CAPTURE(selector);
        PluginHarness p(f.ctx, "dkim", {"reject", "1", "timeout", "0.5"});
        auto v = deliver(f.ctx, p, signature(kMessage, selector) + kMessage);
        REQUIRE(v);
        CHECK(v->result == hooks::Result::Declined);
        auto r = results(f.ctx);
        REQUIRE(r.size() == 1);
        CHECK(r[0].result == "temperror");
        CHECK(r[0].reason.rfind("key lookup failed (", 0) == 0);
    }
    CHECK(f.ctx.log_text().find("dkim: temperror d=example.net s=slow") != std::string::npos);
}

TEST_CASE("dkim: a failing signature under a testing key (t=y) is not refused") {
    Fixture f;
    std::string message = signature(kMessage, "testing") + kMessage;
    message.replace(message.find("hungry"), 6, "angry!");
    PluginHarness p(f.ctx, "dkim", {"reject", "1"});
    auto v = deliver(f.ctx, p, message);
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Declined);
    auto r = results(f.ctx);
    REQUIRE(r.size() == 1);
    CHECK(r[0].result == "fail");
    CHECK(r[0].testing);
}

TEST_CASE("dkim: l= with appended text passes; each (c=, l=) gets its own body hash") {
    Fixture f;
    io::dkim::SignOptions with_length;
    with_length.body_length = true;
    io::dkim::SignOptions simple;
    simple.body_canon = proto::dkim::Canon::Simple;
    const std::string message = signature(kMessage, "rsa", with_length) + signature(kMessage, "ed", simple) +
                                signature(kMessage, "rsa") + kMessage + "Appended by a list.\r\n";
    FakeContext& ctx = f.ctx;
    PluginHarness p(ctx, "dkim");
    ctx.txn.emplace();
    REQUIRE(p.call(hooks::Hook::Data));
    REQUIRE(ctx.txn->body_observers.size() == 1);
    auto* seen = dynamic_cast<plugins::dkim::DkimObserver*>(ctx.txn->body_observers[0].get());
    REQUIRE(seen);
    seen->content(message);
    CHECK(seen->hashers() == 3);
    seen->end();
    REQUIRE(p.call(hooks::Hook::DataPostHeaders));
    auto r = results(ctx);
    REQUIRE(r.size() == 3);
    CHECK(r[0].result == "pass");
    CHECK(r[1].result == "fail");   // the appended line is inside what these two signed
    CHECK(r[2].result == "fail");
}

TEST_CASE("dkim: malformed signatures are permerror without a lookup; past max_signatures, not evaluated") {
    Fixture f;
    const std::string good = signature(kMessage, "rsa");
    std::string no_bh = good;
    no_bh.replace(no_bh.find("bh="), 3, "xh=");
    PluginHarness p(f.ctx, "dkim", {"max_signatures", "2"});
    auto v = deliver(f.ctx, p, no_bh + good + signature(kMessage, "ed") + kMessage);
    REQUIRE(v);
    auto r = results(f.ctx);
    REQUIRE(r.size() == 2);
    CHECK(r[0].result == "permerror");
    CHECK(r[0].domain.empty());
    CHECK(r[1].result == "pass");
    CHECK(f.ctx.txn->notes["dkim"].rfind("permerror reason=", 0) == 0);
    const std::string log = f.ctx.log_text();
    CHECK(log.find("dkim: permerror (signature 1: ") != std::string::npos);
    CHECK(log.find("dkim: 1 more signatures not evaluated (max_signatures 2)") != std::string::npos);
    CHECK(f.dns.queries("ed._domainkey.example.net", "TXT") == 0);
}

TEST_CASE("dkim: immune sessions get no observer and no notes") {
    Fixture f;
    f.ctx.conn.relay_client = true;
    PluginHarness p(f.ctx, "dkim", {"reject", "1"});
    std::string message = signature(kMessage, "rsa") + kMessage;
    message.replace(message.find("hungry"), 6, "angry!");
    auto v = deliver(f.ctx, p, message);
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Declined);
    CHECK(f.ctx.txn->body_observers.empty());
    CHECK(f.ctx.txn->notes.empty());
    CHECK(f.ctx.log_text().find("dkim: skip, immune (relay client)") != std::string::npos);
}

TEST_CASE("dkim: the session ending while keys are fetched resolves nothing and touches nothing") {
    Fixture f;
    PluginHarness p(f.ctx, "dkim", {"timeout", "0.3"});
    f.ctx.txn.emplace();
    REQUIRE(p.call(hooks::Hook::Data));
    const std::string message = signature(kMessage, "slow") + kMessage;
    for (const auto& o : f.ctx.txn->body_observers) {
        o->content(message);
        o->end();
    }
    auto sink = p.start(hooks::Hook::DataPostHeaders);
    f.ctx.end_session();
    f.ctx.run();
    // Dropping the call unanswered gives the chain's safe default, nothing the plugin decided.
    CHECK((!sink->verdict || sink->verdict->text == "internal plugin error"));
    CHECK(f.ctx.txn->notes.empty());
    CHECK(f.ctx.log_text().find("dkim: temperror") == std::string::npos);
}

TEST_CASE("dkim: a large body is hashed on the CPU thread in batches and verifies") {
    Fixture f;
    io::dkim::SignOptions simple;
    simple.body_canon = proto::dkim::Canon::Simple;
    const std::string big = large_message();
    const std::string message = signature(big, "rsa") + signature(big, "ed", simple) + big;
    PluginHarness p(f.ctx, "dkim", {"reject", "1"});
    auto v = deliver(f.ctx, p, message, 4096);
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Declined);
    auto r = results(f.ctx);
    REQUIRE(r.size() == 2);
    CHECK(r[0].result == "pass");
    CHECK(r[1].result == "pass");
    CHECK(observer_of(f.ctx)->body_hash().stats().jobs >= 1);   // a batch went to the CPU thread
}

TEST_CASE("dkim: a transaction dropped mid-DATA with hashing jobs queued frees nothing they use") {
    Fixture f;
    PluginHarness p(f.ctx, "dkim");
    std::atomic<bool> go{false}, started{false};
    f.ctx.run_on_cpu_thread(   // the CPU thread is busy: the body hashing jobs stay queued
        [&] {
            started = true;
            while (!go) std::this_thread::yield();
        },
        [] {});
    while (!started) std::this_thread::yield();
    f.ctx.txn.emplace();
    REQUIRE(p.call(hooks::Hook::Data));
    const std::string big = large_message();
    const std::string message = signature(big, "rsa") + big;
    for (std::size_t at = 0; at < message.size(); at += 10000)
        f.ctx.txn->body_observers[0]->content(std::string_view(message).substr(at, 10000));
    const auto* seen = observer_of(f.ctx);
    CHECK(seen->body_hash().stats().jobs >= 2);
    CHECK(seen->body_hash().backlog() > 0);
    f.ctx.txn.reset();   // the session closed: the observer goes, its jobs have not run
    go = true;
    bool done = false;
    f.ctx.run_on_cpu_thread([] {}, [&] { done = true; });   // after every queued job (FIFO)
    f.ctx.run();
    CHECK(done);   // under ASan: no use after free in the jobs
}

}  // namespace ASMTPD_TEST_UNIT
