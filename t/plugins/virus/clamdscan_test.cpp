// clamdscan_test.cpp - tests plugins/virus/clamdscan.cpp with a replaying stand-in for clamd
// (t/support/scanner_peer.hpp) that answers what clamd 1.4.6 answered on loopback, or what it
// never would: the zINSTREAM request on the wire, found/clean/error with deny_viruses and
// defer_on_error, the note and headers, max_size, and the arguments refused at start-up. The
// real clamd runs in t/e2e/test_clamdscan.py.
#include <doctest/doctest.h>

#include <string>

#include "t/support/fake_context.hpp"
#include "t/support/scanner_peer.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;
using test::ScannerPeer;

namespace {

const std::string kMessage = "Subject: hi\r\n\r\nbody\r\n";

void with_message(FakeContext& ctx, const std::string& content = kMessage) {
    ctx.txn.emplace();
    ctx.txn->sender = proto::Address{"s", "example.org"};
    ctx.txn->received = "Received: from client\r\n";
    ctx.txn->body = io::Spool::create(ctx.loop(), "/tmp", 1 << 20);
    ctx.txn->body->append(content);
    bool done = false;
    ctx.txn->body->finish([&](bool) { done = true; });
    ctx.run();
    REQUIRE(done);
}

struct Scan {
    std::optional<hooks::Verdict> verdict;
    std::string request;
};

Scan scan(FakeContext& ctx, const std::string& reply, std::vector<std::string> more) {
    with_message(ctx);
    ScannerPeer peer(ctx.loop());
    peer.one_shot = true;
    peer.complete = ScannerPeer::instream_complete;
    peer.reply = reply;
    std::vector<std::string> args = {"clamd_socket", peer.hop()};
    args.insert(args.end(), more.begin(), more.end());
    PluginHarness p(ctx, "virus/clamdscan", args);
    REQUIRE_FALSE(p.init_error);
    Scan s;
    s.verdict = p.call(hooks::Hook::DataPost);
    s.request = peer.received;
    return s;
}

std::string be32(std::size_t n) {
    return {char((n >> 24) & 0xff), char((n >> 16) & 0xff), char((n >> 8) & 0xff), char(n & 0xff)};
}

}  // namespace

TEST_CASE("clamdscan: a virus is refused with its name; the request is zINSTREAM in chunks") {
    FakeContext ctx;
    auto s = scan(ctx, std::string("stream: Eicar-Test-Signature FOUND\0", 35), {});
    CHECK(std::string(result_name(s.verdict)) == "DENY");
    CHECK(test::text_of(s.verdict) == "Virus found: Eicar-Test-Signature");
    const std::string prefix = ctx.txn->header_prefix();
    CHECK(s.request == std::string("zINSTREAM\0", 10) + be32(prefix.size()) + prefix + be32(kMessage.size()) + kMessage +
                           be32(0));
    CHECK(ctx.txn->notes["clamdscan"] == "found Eicar-Test-Signature");
    CHECK(ctx.txn->added_headers.empty());
    CHECK(ctx.log_text().find("clamdscan: fail, virus found: Eicar-Test-Signature (denied") != std::string::npos);
}

TEST_CASE("clamdscan: deny_viruses no tags; clean mail gets its headers") {
    FakeContext ctx;
    auto s = scan(ctx, std::string("stream: Eicar-Test-Signature FOUND\0", 35), {"deny_viruses", "no"});
    CHECK(std::string(result_name(s.verdict)) == "DECLINED");
    CHECK(ctx.txn->added_headers == std::vector<std::string>{"X-Virus-Found: Yes", "X-Virus-Details: Eicar-Test-Signature",
                                                             "X-Virus-Checked: Checked by ClamAV on mx.example.org"});
    s = scan(ctx, std::string("stream: OK\0", 11), {});
    CHECK(std::string(result_name(s.verdict)) == "DECLINED");
    CHECK(ctx.txn->added_headers ==
          std::vector<std::string>{"X-Virus-Found: No", "X-Virus-Checked: Checked by ClamAV on mx.example.org"});
    CHECK(ctx.txn->notes["clamdscan"] == "clean");
}

TEST_CASE("clamdscan: clamd errors and garbage follow defer_on_error") {
    for (const std::string& reply : {std::string("INSTREAM size limit exceeded. ERROR\0", 36), std::string("PONG\n"),
                                    std::string("stream: Evil\x01Name FOUND\0", 24), std::string()}) {
        CAPTURE(reply);
        FakeContext ctx;
        auto s = scan(ctx, reply, {});
        CHECK(std::string(result_name(s.verdict)) == "DECLINED");
        CHECK(ctx.txn->notes["clamdscan"].starts_with("error "));
        CHECK(ctx.txn->added_headers.empty());
        s = scan(ctx, reply, {"defer_on_error", "yes"});
        REQUIRE(s.verdict);
        CHECK(std::string(result_name(s.verdict)) == "DENYSOFT");
        REQUIRE(s.verdict->reply);
        CHECK(s.verdict->reply->code == 451);
        CHECK(s.verdict->reply->lines.front() == "Unable to scan for viruses");
    }
}

TEST_CASE("clamdscan: max_size skips without connecting; arguments refused at start-up") {
    FakeContext ctx;
    with_message(ctx, kMessage + std::string(2000, 'x'));
    ScannerPeer peer(ctx.loop());
    PluginHarness p(ctx, "virus/clamdscan", {"clamd_socket", peer.hop(), "max_size", "1"});
    CHECK(std::string(result_name(p.call(hooks::Hook::DataPost))) == "DECLINED");
    CHECK(peer.connections == 0);
    CHECK(ctx.txn->notes.count("clamdscan") == 0);
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {"max_size", "0"}, {"max_size", "1k"}, {"deny_viruses", "maybe"}, {"defer_on_error", "on"},
             {"clamd_socket", "clamd.example.org"}, {"clamd_port", "0"}, {"clamd_port", "3310", "clamd_socket", "/x"},
             {"timeout", "0"}, {"scan_all", "0"}, {"clamd_host", "x"}}) {
        CAPTURE(args.front());
        CHECK(PluginHarness(ctx, "virus/clamdscan", args).init_error);
    }
    for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
             {}, {"clamd_port", "3310"}, {"clamd_socket", "127.0.0.1"}, {"deny_viruses", "no", "defer_on_error", "yes", "scan_all", "1"}}) {
        PluginHarness ok(ctx, "virus/clamdscan", args);
        CHECK_MESSAGE(!ok.init_error, ok.init_error.value_or(""));
    }
}

}  // namespace ASMTPD_TEST_UNIT
