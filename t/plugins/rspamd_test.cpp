// rspamd_test.cpp - tests plugins/rspamd with a replaying stand-in for rspamd's normal worker
// (t/support/scanner_peer.hpp) that answers what rspamd 3.4 answered on loopback, or what it
// never would: the request on the wire, each action's verdict, headers and edits, the milter
// block, the note, the fail modes, the skips, and the arguments refused at start-up. The real
// rspamd runs in t/e2e/test_rspamd.py.
#include <doctest/doctest.h>

#include <string>

#include "core/proto/header_edit.hpp"
#include "t/support/fake_context.hpp"
#include "t/support/scanner_peer.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;
using test::ScannerPeer;

namespace {

const std::string kMessage = "Subject: old one\r\nFrom: a@example.org\r\nX-Rspamd-Score: -100\r\n\r\nhello\r\n";

std::string http(const std::string& json, int status = 200) {
    return "HTTP/1.1 " + std::to_string(status) + " OK\r\nConnection: close\r\nServer: rspamd/3.4\r\nContent-Length: " +
           std::to_string(json.size()) + "\r\nContent-Type: application/json\r\n\r\n" + json;
}

std::string reply(const std::string& action, double score, const std::string& more = {}) {
    return http(R"({"is_skipped":false,"score":)" + std::to_string(score) + R"(,"required_score":15.0,"action":")" +
                action + R"(","symbols":{"R_ONE":{"name":"R_ONE","score":)" + std::to_string(score) +
                R"(},"R_ZERO":{"name":"R_ZERO","score":0.0}},"messages":{})" + more + "}");
}

// The end of an HTTP request: Content-Length octets after the empty line.
bool http_complete(const std::string& got) {
    const auto end = got.find("\r\n\r\n");
    const auto cl = got.find("Content-Length: ");
    if (end == std::string::npos || cl == std::string::npos) return false;
    return got.size() >= end + 4 + std::stoul(got.substr(cl + 16));
}

void with_message(FakeContext& ctx) {
    ctx.txn.emplace();
    ctx.txn->id = "1234.1";
    ctx.txn->sender = proto::Address{"s", "example.org"};
    ctx.txn->recipients.push_back(proto::Address{"bob", "example.test"});
    ctx.txn->received = "Received: from client\r\n";
    ctx.txn->body = io::Spool::create(ctx.loop(), "/tmp", 1 << 20);
    ctx.txn->body->append(kMessage);
    ctx.txn->header_bytes = kMessage.find("\r\n\r\n") + 2;
    bool done = false;
    ctx.txn->body->finish([&](bool) { done = true; });
    ctx.run();
    REQUIRE(done);
}

struct Run {
    std::optional<hooks::Verdict> verdict;
    std::string request;
};

Run scan(FakeContext& ctx, const std::string& answer, std::vector<std::string> args = {}) {
    ScannerPeer peer(ctx.loop());
    peer.one_shot = true;
    peer.complete = http_complete;
    peer.reply = answer;
    std::vector<std::string> a = {"host", "127.0.0.1", "port", peer.hop().substr(10)};
    a.insert(a.end(), args.begin(), args.end());
    PluginHarness p(ctx, "rspamd", a);
    REQUIRE_MESSAGE(!p.init_error, p.init_error.value_or(""));
    Run r;
    r.verdict = p.call(hooks::Hook::DataPost);
    r.request = peer.received;
    REQUIRE(r.verdict);
    return r;
}

std::string edited(const FakeContext& ctx) {
    return proto::apply_header_edits(kMessage.substr(0, ctx.txn->header_bytes), ctx.txn->header_edits);
}

}  // namespace

TEST_CASE("rspamd: the request, GTUBE's reject with rspamd's smtp_message, the note") {
    FakeContext ctx;
    with_message(ctx);
    ctx.conn.helo_host = "client.example.org";
    ctx.notes()["remote_host"] = "unknown";
    ctx.txn->recipients.push_back(proto::Address{"carol", "example.test"});
    const std::string gtube =
        R"({"is_skipped":true,"score":15.0,"required_score":15.0,"action":"reject","symbols":{"GTUBE":{"name":"GTUBE",)"
        R"("score":0.0,"metric_score":0.0}},"messages":{"smtp_message":"Gtube pattern"},"message-id":"undef"})";
    auto r = scan(ctx, http(gtube), {"request.pass_all", "yes"});
    CHECK(std::string(result_name(r.verdict)) == "DENY");
    REQUIRE(r.verdict->reply);
    CHECK(r.verdict->reply->code == 550);
    CHECK(r.verdict->reply->esc == "5.7.1");
    CHECK(r.verdict->reply->lines == std::vector<std::string>{"Gtube pattern"});
    const std::string message = ctx.txn->header_prefix() + kMessage;
    const auto head_end = r.request.find("\r\n\r\n") + 4;
    CHECK(r.request.substr(head_end) == message);
    const auto host_at = r.request.find("Host: ");
    const auto host = r.request.substr(host_at, r.request.find("\r\n", host_at) - host_at);
    CHECK(host.starts_with("Host: 127.0.0.1:"));
    CHECK(r.request.substr(0, head_end) ==
          "POST /checkv2 HTTP/1.1\r\n" + host + "\r\nConnection: close\r\nContent-Length: " + std::to_string(message.size()) +
              "\r\nIP: 192.0.2.10\r\nHostname: unknown\r\nHelo: client.example.org\r\nFrom: s@example.org\r\n"
              "Rcpt: bob@example.test\r\nRcpt: carol@example.test\r\nQueue-Id: 1234.1\r\nPass: all\r\n\r\n");
    CHECK(ctx.txn->notes["rspamd"] == "reject, score=15 required=15 symbols=GTUBE(0)");
    CHECK(ctx.txn->added_headers.empty());
    CHECK(ctx.log_text().find("rspamd: reject, score=15 required=15 symbols=GTUBE(0) (") != std::string::npos);

    // smtp_message.enabled false: reject.message, over several words.
    with_message(ctx);
    r = scan(ctx, http(gtube), {"smtp_message.enabled", "false", "reject.message", "No", "spam", "here"});
    CHECK(r.verdict->reply->lines == std::vector<std::string>{"No spam here"});
    CHECK(r.request.find("Deliver-To: bob@example.test\r\n") != std::string::npos);
    CHECK(r.request.find("Pass:") == std::string::npos);

    // reject.spam false: let through, marked (add_headers sometimes).
    with_message(ctx);
    r = scan(ctx, http(gtube), {"reject.spam", "false"});
    CHECK(std::string(result_name(r.verdict)) == "DECLINED");
    CHECK(ctx.txn->added_headers == std::vector<std::string>{"X-Rspamd-Bar: +++++++++++++++", "X-Rspamd-Score: 15"});

    // An authenticated user (check.authenticated): reject.authenticated decides, false by default.
    with_message(ctx);
    ctx.conn.auth_user = "alice";
    r = scan(ctx, http(gtube), {"check.authenticated", "true"});
    CHECK(std::string(result_name(r.verdict)) == "DECLINED");
    CHECK(r.request.find("User: alice\r\n") != std::string::npos);
    with_message(ctx);
    r = scan(ctx, http(gtube), {"check.authenticated", "true", "reject.authenticated", "true"});
    CHECK(std::string(result_name(r.verdict)) == "DENY");
}

TEST_CASE("rspamd: soft reject, greylist, add header, no action") {
    FakeContext ctx;
    with_message(ctx);
    auto r = scan(ctx, reply("soft reject", 0));
    CHECK(std::string(result_name(r.verdict)) == "DENYSOFT");
    CHECK(r.verdict->reply->code == 451);
    CHECK(r.verdict->reply->esc == "4.7.1");
    CHECK(r.verdict->reply->lines == std::vector<std::string>{"Deferred by policy"});
    with_message(ctx);
    r = scan(ctx, reply("soft reject", 0, R"(,"messages":{"smtp_message":"Try again later"})"),
             {"soft_reject.message", "Later"});
    CHECK(r.verdict->reply->lines == std::vector<std::string>{"Try again later"});
    with_message(ctx);
    CHECK(std::string(result_name(scan(ctx, reply("soft reject", 0), {"soft_reject.enabled", "no"}).verdict)) ==
          "DECLINED");

    with_message(ctx);
    r = scan(ctx, reply("greylist", 4.5));
    CHECK(std::string(result_name(r.verdict)) == "DENYSOFT");
    CHECK(r.verdict->reply->lines == std::vector<std::string>{"Greylisted, try again later"});
    with_message(ctx);
    CHECK(std::string(result_name(scan(ctx, reply("greylist", 4.5), {"greylist.enabled", "off"}).verdict)) ==
          "DECLINED");
    CHECK(ctx.txn->added_headers.empty());

    with_message(ctx);
    r = scan(ctx, reply("add header", 6.5));
    CHECK(std::string(result_name(r.verdict)) == "DECLINED");
    CHECK(ctx.txn->added_headers ==
          std::vector<std::string>{"X-Rspamd-Bar: ++++++", "X-Rspamd-Report: R_ONE(6.5)", "X-Rspamd-Score: 6.5"});
    // The client's X-Rspamd-Score is gone, the rest of its block untouched.
    CHECK(edited(ctx) == "Subject: old one\r\nFrom: a@example.org\r\n");
    CHECK(ctx.txn->notes["rspamd"] == "add header, score=6.5 required=15 symbols=R_ONE(6.5),R_ZERO(0)");

    with_message(ctx);
    scan(ctx, reply("add header", 6.5), {"add_headers", "never"});
    CHECK(ctx.txn->added_headers.empty());
    with_message(ctx);
    scan(ctx, reply("no action", 0));
    CHECK(ctx.txn->added_headers.empty());
    CHECK(ctx.txn->header_edits.empty());
    with_message(ctx);
    scan(ctx, reply("no action", -2), {"always_add_headers", "true", "header.report", "none", "header.bar", "X-Bar",
                                       "spambar.negative", "~"});
    CHECK(ctx.txn->added_headers == std::vector<std::string>{"X-Bar: ~~", "X-Rspamd-Score: -2"});
}

TEST_CASE("rspamd: rewrite subject, from rspamd's subject or the template") {
    FakeContext ctx;
    with_message(ctx);
    auto r = scan(ctx, reply("rewrite subject", 9, R"(,"subject":"***SPAM*** old one")"));
    CHECK(std::string(result_name(r.verdict)) == "DECLINED");
    CHECK(edited(ctx) == "Subject: ***SPAM*** old one\r\nFrom: a@example.org\r\n");
    CHECK(ctx.log_text().find("; subject rewritten; headers added") != std::string::npos);

    with_message(ctx);
    scan(ctx, reply("rewrite subject", 9), {"subject", "[spam", "%s]"});
    CHECK(edited(ctx) == "Subject: [spam old one]\r\nFrom: a@example.org\r\n");

    with_message(ctx);
    scan(ctx, reply("rewrite subject", 9, R"(,"subject":"x")"), {"rewrite_subject.enabled", "false"});
    CHECK(edited(ctx) == "Subject: old one\r\nFrom: a@example.org\r\n");
}

TEST_CASE("rspamd: the milter block's header changes") {
    FakeContext ctx;
    with_message(ctx);
    const std::string milter =
        R"(,"milter":{"remove_headers":{"From":1,"X-Gone":-1},"add_headers":{"X-Added":["one","two"],)"
        R"("X-Top":{"value":"top","order":0}}})";
    scan(ctx, reply("no action", 0, milter));
    CHECK(ctx.txn->added_headers == std::vector<std::string>{"X-Added: one", "X-Added: two"});
    CHECK(edited(ctx) == "X-Top: top\r\nSubject: old one\r\nX-Rspamd-Score: -100\r\n");
    with_message(ctx);
    scan(ctx, reply("no action", 0, milter), {"rmilter_headers.enabled", "false"});
    CHECK(ctx.txn->added_headers.empty());
    CHECK(ctx.txn->header_edits.empty());
}

TEST_CASE("rspamd: errors follow defer.error, silence defer.timeout") {
    for (const std::string& answer :
         {std::string("garbage\r\n"), http("{\"error\":\"bad request\"}"), http("{}", 500), http("[1]"),
          std::string("HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nshort")}) {
        CAPTURE(answer);
        for (const bool defer : {false, true}) {
            FakeContext ctx;
            with_message(ctx);
            auto r = scan(ctx, answer, {"defer.error", defer ? "true" : "false", "defer.timeout", "true"});
            if (defer) {
                CHECK(std::string(result_name(r.verdict)) == "DENYSOFT");
                REQUIRE(r.verdict->reply);
                CHECK(r.verdict->reply->code == 451);
                CHECK(r.verdict->reply->esc == "4.3.0");
                CHECK(r.verdict->reply->lines == std::vector<std::string>{"Rspamd scan error"});
            } else {
                CHECK(std::string(result_name(r.verdict)) == "DECLINED");
            }
            CHECK(ctx.txn->notes.count("rspamd") == 0);
            CHECK(ctx.txn->added_headers.empty());
            CHECK(ctx.log_text().find("rspamd: error, 127.0.0.1:") != std::string::npos);
        }
    }
    FakeContext ctx;
    with_message(ctx);
    ScannerPeer mute(ctx.loop());
    mute.never = true;
    for (const bool defer : {false, true}) {
        PluginHarness p(ctx, "rspamd",
                        {"host", "127.0.0.1", "port", mute.hop().substr(10), "timeout", "0.2", "defer.timeout",
                         defer ? "yes" : "no"});
        auto sink = p.start(hooks::Hook::DataPost);
        while (!sink->verdict) uv_run(ctx.loop(), UV_RUN_ONCE);   // the mute peer keeps the loop busy
        const auto& v = sink->verdict;
        CHECK(std::string(result_name(v)) == (defer ? "DENYSOFT" : "DECLINED"));
        if (defer) CHECK(v->reply->lines == std::vector<std::string>{"Rspamd scan timeout"});
    }
    mute.close();
    CHECK(ctx.log_text().find("no answer within 200 ms; accepted unscanned") != std::string::npos);
}

TEST_CASE("rspamd: skips, and nothing is sent for them") {
    FakeContext ctx;
    with_message(ctx);
    ScannerPeer peer(ctx.loop());
    const std::vector<std::string> at = {"host", "127.0.0.1", "port", peer.hop().substr(10)};
    auto skipped = [&](const char* why, std::vector<std::string> more = {}) {
        auto a = at;
        a.insert(a.end(), more.begin(), more.end());
        PluginHarness p(ctx, "rspamd", a);
        CHECK(std::string(result_name(p.call(hooks::Hook::DataPost))) == "DECLINED");
        CHECK(ctx.log_text().find(std::string("rspamd: skip, ") + why) != std::string::npos);
    };
    ctx.conn.auth_user = "alice";
    skipped("authenticated");
    ctx.conn.auth_user.clear();
    ctx.conn.relay_client = true;
    skipped("relay");
    ctx.conn.relay_client = false;
    ctx.conn.remote_ip = "127.0.0.1";
    skipped("local_ip");
    ctx.conn.remote_ip = "10.1.2.3";
    skipped("private_ip", {"check.local_ip", "true"});
    CHECK(peer.connections == 0);
}

TEST_CASE("rspamd: arguments refused at start-up") {
    FakeContext ctx;
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {"host"}, {"host", "rspamd.example.org"}, {"port", "0"}, {"port", "70000"}, {"unix_socket", "run/r.sock"},
             {"unix_socket", "/run/r.sock", "port", "1"}, {"timeout", "0"}, {"add_headers", "often"},
             {"add_headers", "always", "always_add_headers", "true"}, {"reject.spam", "maybe"},
             {"header.score", "Bad Name"}, {"spambar.positive", "+++++"}, {"dkim.enabled", "true"},
             {"check.relay", "true", "check.relay", "false"}, {"unknown", "1"}}) {
        CAPTURE(args.front());
        CHECK(PluginHarness(ctx, "rspamd", args).init_error);
    }
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {}, {"unix_socket", "/run/rspamd/normal.sock"}, {"host", "::1", "port", "11334"},
             {"host", "localhost", "timeout", "2.5", "defer.error", "1", "subject", "[SPAM]", "%s", "check.local_ip", "on"}}) {
        PluginHarness p(ctx, "rspamd", args);
        CHECK_MESSAGE(!p.init_error, p.init_error.value_or(""));
        CHECK(p.handlers(hooks::Hook::DataPost) == 1);
    }
}

}  // namespace ASMTPD_TEST_UNIT
