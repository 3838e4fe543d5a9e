// header_checks_test.cpp - tests plugins/headers.cpp, loop.cpp, bogus_bounce.cpp and uribl.cpp
// with test::FakeContext: the header block read from a spool in memory and from a spool file
// (the asynchronous path), verdicts and notes, argument errors; uribl against the test DNS
// server (a base64 part listed, a clean message, the deadline when the server never answers).
#include <doctest/doctest.h>

#include <string>

#include "t/support/dns_server.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;

namespace {

const std::string kGood =
    "From: a@example.org\r\nTo: b@example.test\r\nSubject: hi\r\nDate: Wed, 02 Dec 2026 12:00:00 +0000\r\n";

// A transaction whose spool holds `headers` + "\r\n" + body; a small threshold puts it in a file.
void with_message(FakeContext& ctx, const std::string& headers, const std::string& body = "Hello.\r\n",
                  std::size_t threshold = 1 << 20, std::string sender_local = "s") {
    ctx.txn.emplace();
    ctx.txn->id = "t.1";
    ctx.txn->sender = sender_local.empty() ? proto::Address{} : proto::Address{sender_local, "example.org"};
    ctx.txn->recipients.push_back(proto::Address{"bob", "example.test"});
    ctx.txn->body = io::Spool::create(ctx.loop(), "/tmp", threshold);
    ctx.txn->body->append(headers + "\r\n" + body);
    ctx.txn->header_bytes = headers.size();
    bool done = false;
    ctx.txn->body->finish([&](bool ok) { done = ok; });
    ctx.run();
    REQUIRE(done);
}

}  // namespace

TEST_CASE("headers: required, singular, from a memory and a file spool") {
    for (std::size_t threshold : {std::size_t{1} << 20, std::size_t{64}}) {
        CAPTURE(threshold);
        FakeContext ctx;
        PluginHarness h(ctx, "headers", {"future", "1"});
        REQUIRE_FALSE(h.init_error);
        with_message(ctx, kGood, std::string(5000, 'x') + "\r\n", threshold);
        CHECK(ctx.txn->body->in_file() == (threshold == 64));
        auto v = h.call(hooks::Hook::DataPost);
        REQUIRE(v);
        CHECK(v->result == hooks::Result::Declined);
        CHECK(ctx.txn->notes["headers"] == "pass");

        with_message(ctx, kGood + "Subject: again\r\n", "x\r\n", threshold);
        v = h.call(hooks::Hook::DataPost);
        REQUIRE(v);
        CHECK(v->result == hooks::Result::Deny);
        CHECK(v->text == "Only one Subject header allowed. See RFC 5322, Section 3.6");
    }
}

TEST_CASE("headers: arguments") {
    FakeContext ctx;
    CHECK(PluginHarness(ctx, "headers", {"past", "x"}).init_error == "past must be a number of days, not 'x'");
    CHECK(PluginHarness(ctx, "headers", {"require", "From,Da te"}).init_error == "require: not a header name: 'Da te'");
    CHECK(PluginHarness(ctx, "headers", {"bogus", "1"}).init_error.has_value());
    PluginHarness temp(ctx, "headers", {"require", "X-Need", "reject_type", "temp"});
    with_message(ctx, kGood);
    auto v = temp.call(hooks::Hook::DataPost);
    REQUIRE(v);
    CHECK(v->result == hooks::Result::DenySoft);
    CHECK(v->text == "We require a valid X-Need header");
}

TEST_CASE("loop: the hop count includes our Received") {
    FakeContext ctx;
    PluginHarness h(ctx, "loop", {"3"});
    REQUIRE_FALSE(h.init_error);
    with_message(ctx, "Received: a\r\n" + kGood);
    CHECK(h.call(hooks::Hook::DataPost)->result == hooks::Result::Declined);
    with_message(ctx, "Received: a\r\nDelivered-To: b@example.test\r\n" + kGood, "x\r\n", 64);
    auto v = h.call(hooks::Hook::DataPost);
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Deny);
    REQUIRE(v->reply);
    CHECK(v->reply->code == 554);
    CHECK(PluginHarness(ctx, "loop", {"0"}).init_error.has_value());
    CHECK(PluginHarness(ctx, "loop", {"1", "2"}).init_error.has_value());
}

TEST_CASE("bogus_bounce: recipients and Return-Path of null-sender mail") {
    FakeContext ctx;
    PluginHarness h(ctx, "bogus_bounce", {"deny"});
    REQUIRE_FALSE(h.init_error);
    with_message(ctx, "Return-Path: <x@example.org>\r\n" + kGood, "x\r\n", 1 << 20, "");
    auto v = h.call(hooks::Hook::DataPost);
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Deny);
    CHECK(v->text == "a bounce return path must be empty (RFC 3834)");
    with_message(ctx, "Return-Path: <>\r\n" + kGood, "x\r\n", 1 << 20, "");
    CHECK(h.call(hooks::Hook::DataPost)->result == hooks::Result::Declined);
    ctx.txn->recipients.push_back(proto::Address{"carol", "example.test"});
    CHECK(h.call(hooks::Hook::DataPost)->text == "this bounce message does not have 1 recipient");
    with_message(ctx, "Return-Path: <x@example.org>\r\n" + kGood);   // not a bounce
    CHECK(h.call(hooks::Hook::DataPost)->result == hooks::Result::Declined);

    PluginHarness soft(ctx, "bogus_bounce", {"action", "denysoft"});
    with_message(ctx, "Return-Path: <x@example.org>\r\n" + kGood, "x\r\n", 1 << 20, "");
    CHECK(soft.call(hooks::Hook::DataPost)->result == hooks::Result::DenySoft);
    PluginHarness log(ctx, "bogus_bounce");
    CHECK(log.call(hooks::Hook::DataPost)->result == hooks::Result::Declined);
    CHECK(ctx.log_text().find("bogus_bounce: fail, tolerated") != std::string::npos);
    CHECK(PluginHarness(ctx, "bogus_bounce", {"reject"}).init_error ==
          "action must be log, deny or denysoft, not 'reject'");
}

TEST_CASE("uribl: a base64 part listed, a clean message, a silent server") {
    test::DnsTestServer dns(
        "$TTL 60\nuribl.test. IN SOA ns.test. h.test. 1 60 60 60 30\n"
        "spam.test.uribl.test. IN A 127.0.0.2\nspam.test.uribl.test. IN TXT \"listed\"\n"
        "!drop slow.test.uribl.test\n");
    FakeContext ctx;
    ctx.dns_server = dns.address();
    ctx.write_config("uribl_zones", "uribl.test\n");
    PluginHarness h(ctx, "uribl", {"action", "deny", "timeout", "0.5"});
    REQUIRE_FALSE(h.init_error);
    const std::string mime = kGood +
                             "MIME-Version: 1.0\r\nContent-Type: text/plain\r\n"
                             "Content-Transfer-Encoding: base64\r\n";
    // "go to http://www.spam.test/ now"
    with_message(ctx, mime, "Z28gdG8gaHR0cDovL3d3dy5zcGFtLnRlc3QvIG5vdw==\r\n", 64);
    auto v = h.call(hooks::Hook::DataPost);
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Deny);
    CHECK(v->text == "spam.test in uribl.test: listed");
    CHECK(ctx.txn->notes["uribl"] == "listed spam.test in uribl.test");

    with_message(ctx, kGood, "see http://clean.test/ and www.example.com\r\n");
    v = h.call(hooks::Hook::DataPost);
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Declined);
    CHECK(ctx.txn->notes["uribl"] == "clean");

    with_message(ctx, kGood, "see http://slow.test/\r\n");
    v = h.call(hooks::Hook::DataPost);
    REQUIRE(v);
    CHECK(v->result == hooks::Result::Declined);
    CHECK(ctx.txn->notes["uribl"] == "failed slow.test.uribl.test");

    PluginHarness header(ctx, "uribl");
    with_message(ctx, kGood, "http://spam.test/\r\n");
    CHECK(header.call(hooks::Hook::DataPost)->result == hooks::Result::Declined);
    REQUIRE(ctx.txn->added_headers.size() == 1);
    CHECK(ctx.txn->added_headers[0] == "X-URIBL-Match: spam.test in uribl.test: listed");

    ctx.write_config("uribl_zones", "uribl.test zz\n");
    CHECK(PluginHarness(ctx, "uribl").init_error == "uribl_zones: 'uribl.test zz': bad mask 'zz'");
}

}  // namespace ASMTPD_TEST_UNIT
