// spamassassin_test.cpp - tests plugins/spamassassin.cpp with a replaying stand-in for spamd
// (t/support/scanner_peer.hpp) that answers what spamd 4.0.1 answered on loopback, or what it
// never would: the request on the wire, the headers and the "spamassassin" note, headers
// written when spamd's configuration adds none, the reject threshold and type, the fail modes,
// the skips, and the arguments refused at start-up. The real spamd runs in
// t/e2e/test_spamassassin.py.
#include <doctest/doctest.h>

#include <string>

#include "core/proto/spamd_reply.hpp"
#include "t/support/fake_context.hpp"
#include "t/support/scanner_peer.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;
using test::ScannerPeer;

namespace {

const std::string kMessage = "Subject: hi\r\n\r\nXJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X\r\n";

const std::string kSpamHeaders =
    "Received: from localhost by vm\r\n\twith SpamAssassin (version 4.0.1);\r\n\tWed, 02 Dec 2026 14:23:50 +0000\r\n"
    "Subject: hi\r\n"
    "X-Spam-Checker-Version: SpamAssassin 4.0.1 (2024-03-25) on vm\r\n"
    "X-Spam-Flag: YES\r\n"
    "X-Spam-Level: **************************************************\r\n"
    "X-Spam-Status: Yes, score=1002.7 required=5.0 tests=GTUBE,MISSING_DATE,\r\n"
    "\tNO_RELAYS autolearn=no\r\n\tautolearn_force=no version=4.0.1\r\n"
    "X-Spam-Prev-Subject: hi\r\n"
    "MIME-Version: 1.0\r\n\r\n";

std::string spamd_reply(const std::string& spam_line, const std::string& body) {
    return "SPAMD/1.1 0 EX_OK\r\nContent-length: " + std::to_string(body.size()) + "\r\nSpam: " + spam_line +
           "\r\n\r\n" + body;
}

void with_message(FakeContext& ctx) {
    ctx.txn.emplace();
    ctx.txn->id = "t.1";
    ctx.txn->sender = proto::Address{"s", "example.org"};
    ctx.txn->recipients.push_back(proto::Address{"bob", "example.test"});
    ctx.txn->received = "Received: from client\r\n";
    ctx.txn->body = io::Spool::create(ctx.loop(), "/tmp", 1 << 20);
    ctx.txn->body->append(kMessage);
    bool done = false;
    ctx.txn->body->finish([&](bool) { done = true; });
    ctx.run();
    REQUIRE(done);
}

std::vector<std::string> args_for(const ScannerPeer& peer, std::vector<std::string> more) {
    std::vector<std::string> a = {"spamd_socket", peer.hop()};
    a.insert(a.end(), more.begin(), more.end());
    return a;
}

}  // namespace

TEST_CASE("spamassassin: the HEADERS request, spamd's X-Spam-* fields, the note, the reject") {
    FakeContext ctx;
    with_message(ctx);
    ScannerPeer peer(ctx.loop());
    peer.one_shot = true;
    peer.complete = ScannerPeer::spamc_complete;
    peer.reply = spamd_reply("True ; 1002.7 / 5.0", kSpamHeaders);
    PluginHarness p(ctx, "spamassassin", args_for(peer, {"reject", "20", "spamd_user", "filter"}));
    REQUIRE_FALSE(p.init_error);
    const std::string message = "X-Envelope-From: <s@example.org>\r\n" + ctx.txn->header_prefix() + kMessage;
    auto v = p.call(hooks::Hook::DataPost);
    CHECK(std::string(result_name(v)) == "DENY");
    CHECK(test::text_of(v) == "spam score exceeded threshold");

    CHECK(peer.received == "HEADERS SPAMC/1.5\r\nContent-length: " + std::to_string(message.size()) +
                               "\r\nUser: filter\r\n\r\n" + message);
    const auto& h = ctx.txn->added_headers;
    REQUIRE(h.size() == 4);   // Checker-Version, Flag, Level, Status; never Prev-Subject
    CHECK(h[0] == "X-Spam-Checker-Version: SpamAssassin 4.0.1 (2024-03-25) on vm");
    CHECK(h[1] == "X-Spam-Flag: YES");
    CHECK(h[3].starts_with("X-Spam-Status: Yes, score=1002.7 required=5.0 tests=GTUBE,MISSING_DATE,\r\n\tNO_RELAYS"));
    const std::string note = ctx.txn->notes["spamassassin"];
    CHECK(note == "Yes, score=1002.7 required=5.0 tests=GTUBE,MISSING_DATE,NO_RELAYS autolearn=no version=4.0.1");
    const auto back = proto::parse_spam_status(note);
    CHECK(back.score == "1002.7");
    CHECK(back.tests.size() == 3);
    CHECK(ctx.log_text().find("spamassassin: deny, Spam, 1002.7 >= 20 (tests=GTUBE,MISSING_DATE,NO_RELAYS") !=
          std::string::npos);
}

TEST_CASE("spamassassin: a spamd that adds no header gets SpamAssassin's three written for it") {
    FakeContext ctx;
    with_message(ctx);
    ScannerPeer peer(ctx.loop());
    peer.one_shot = true;
    peer.complete = ScannerPeer::spamc_complete;
    peer.reply = spamd_reply("False ; 2.4 / 5.0", "Subject: hi\r\n\r\n");
    PluginHarness p(ctx, "spamassassin", args_for(peer, {"reject", "5", "reject_type", "temp"}));
    REQUIRE_FALSE(p.init_error);
    auto v = p.call(hooks::Hook::DataPost);
    CHECK(std::string(result_name(v)) == "DECLINED");
    CHECK(ctx.txn->added_headers == std::vector<std::string>{"X-Spam-Level: **", "X-Spam-Status: No, score=2.4 required=5.0"});
    CHECK(ctx.txn->notes["spamassassin"] == "No, score=2.4 required=5.0 tests=none");
    CHECK(ctx.log_text().find("spamassassin: pass, Ham, 2.4 < 5") != std::string::npos);

    // Above the threshold with reject_type temp: DENYSOFT (452 4.7.1 at data_post).
    with_message(ctx);
    ScannerPeer again(ctx.loop());
    again.one_shot = true;
    again.complete = ScannerPeer::spamc_complete;
    again.reply = spamd_reply("True ; 7.0 / 5.0", "\r\n");
    PluginHarness q(ctx, "spamassassin", args_for(again, {"reject_threshold", "5", "reject_type", "temp"}));
    v = q.call(hooks::Hook::DataPost);
    CHECK(std::string(result_name(v)) == "DENYSOFT");
    CHECK(ctx.txn->added_headers ==
          std::vector<std::string>{"X-Spam-Flag: YES", "X-Spam-Level: *******", "X-Spam-Status: Yes, score=7.0 required=5.0"});
}

TEST_CASE("spamassassin: spamd errors and garbage follow on_error") {
    for (const std::string& reply : {std::string("SPAMD/1.0 76 Bad header line: x\r\n"), std::string("HTTP/1.0 400 no\r\n\r\n"),
                                    std::string("SPAMD/1.1 0 EX_OK\r\nContent-length: 99\r\nSpam: True ; 1 / 5\r\n\r\nshort")}) {
        CAPTURE(reply);
        for (const bool defer : {false, true}) {
            FakeContext ctx;
            with_message(ctx);
            ScannerPeer peer(ctx.loop());
            peer.one_shot = true;
            peer.complete = ScannerPeer::spamc_complete;
            peer.reply = reply;
            PluginHarness p(ctx, "spamassassin", args_for(peer, {"reject", "1", "on_error", defer ? "defer" : "accept"}));
            auto v = p.call(hooks::Hook::DataPost);
            REQUIRE(v);
            if (defer) {
                CHECK(std::string(result_name(v)) == "DENYSOFT");
                REQUIRE(v->reply);
                CHECK(v->reply->code == 451);
                CHECK(v->reply->esc == "4.3.0");
            } else {
                CHECK(std::string(result_name(v)) == "DECLINED");
            }
            CHECK(ctx.txn->added_headers.empty());
            CHECK(ctx.txn->notes.count("spamassassin") == 0);
            CHECK(ctx.log_text().find("spamassassin: error, spamd 127.0.0.1:") != std::string::npos);
        }
    }
}

TEST_CASE("spamassassin: skips, and nothing is sent for them") {
    FakeContext ctx;
    with_message(ctx);
    ScannerPeer peer(ctx.loop());
    PluginHarness big(ctx, "spamassassin", args_for(peer, {"size_limit", "10"}));
    CHECK(std::string(result_name(big.call(hooks::Hook::DataPost))) == "DECLINED");
    ctx.conn.relay_client = true;
    PluginHarness relay(ctx, "spamassassin", args_for(peer, {"relayclient", "skip"}));
    CHECK(std::string(result_name(relay.call(hooks::Hook::DataPost))) == "DECLINED");
    CHECK(peer.connections == 0);
    CHECK(ctx.log_text().find("spamassassin: skip, too large") != std::string::npos);
    CHECK(ctx.log_text().find("spamassassin: skip, relay client") != std::string::npos);
}

TEST_CASE("spamassassin: arguments refused at start-up") {
    FakeContext ctx;
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {"reject"}, {"reject", "x"}, {"reject", "1e3"}, {"reject", "5", "reject_threshold", "5"},
             {"reject_type", "soon"}, {"spamd_socket", "spamd.example.org:783"}, {"spamd_socket", "run/spamd.sock"},
             {"leave_old_headers", "drop"}, {"leave_old_headers", "rename"}, {"munge_subject_threshold", "5"},
             {"size_limit", "0"}, {"timeout", "-1"}, {"on_error", "panic"}, {"relayclient", "scan"}, {"spamd_user", "a b"},
             {"unknown", "1"}}) {
        CAPTURE(args.front());
        CHECK(PluginHarness(ctx, "spamassassin", args).init_error);
    }
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {}, {"spamd_socket", "/run/spamd.sock", "leave_old_headers", "keep"}, {"spamd_socket", "[::1]:7830", "reject", "-0.5"},
             {"spamd_socket", "localhost", "timeout", "0.25", "on_error", "defer", "relayclient", "skip"}}) {
        PluginHarness p(ctx, "spamassassin", args);
        CHECK_MESSAGE(!p.init_error, p.init_error.value_or(""));
        CHECK(p.handlers(hooks::Hook::DataPost) == 1);
    }
}

}  // namespace ASMTPD_TEST_UNIT
