// rspamd_protocol_test.cpp - tests core/proto/rspamd_protocol.cpp: the /checkv2 request head
// (fields in order, values cleaned), rspamd 3.4's real replies (GTUBE reject with its
// smtp_message, rewrite subject with its subject, add header, a milter block set by a Lua rule),
// error replies and garbage, and Haraka's bar, report, score text and subject template.
#include "core/proto/rspamd_protocol.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

namespace {

// Captured from rspamd 3.4 on loopback (t/e2e/rspamd_support.py's configuration).
const std::string kGtube =
    R"({"is_skipped":true,"score":15.0,"required_score":15.0,"action":"reject","symbols":{"GTUBE":{"name":"GTUBE",)"
    R"("score":0.0,"metric_score":0.0}},"messages":{"smtp_message":"Gtube pattern"},"message-id":"undef",)"
    R"("time_real":0.265446})";
const std::string kRewrite =
    R"({"is_skipped":false,"score":9.0,"required_score":15.0,"action":"rewrite subject","subject":"***SPAM*** )"
    R"(asmtpd-rewrite now","symbols":{"ASMTPD_REWRITE":{"name":"ASMTPD_REWRITE","score":9.0,"metric_score":9.0}},)"
    R"("messages":{},"message-id":"undef","time_real":0.000285})";
const std::string kAddHeader =
    R"({"is_skipped":false,"score":6.500000,"required_score":15.0,"action":"add header","symbols":{"ASMTPD_ADD":)"
    R"({"name":"ASMTPD_ADD","score":6.500000,"metric_score":6.500000},"ZERO":{"name":"ZERO","score":0.0,)"
    R"("options":["a","b",3]}},"messages":{},"message-id":"undef","time_real":0.000297})";
const std::string kMilter =
    R"({"is_skipped":false,"score":0.0,"required_score":15.0,"action":"no action","symbols":{"ASMTPD_MILTER":)"
    R"({"name":"ASMTPD_MILTER","score":0.0,"metric_score":0.0}},"messages":{},"message-id":"undef",)"
    R"("time_real":0.253172,"milter":{"remove_headers":{"X-Remove-Me":0,"X-Second":2},"add_headers":)"
    R"({"X-Asmtpd-Milter":"added by rspamd","X-Two":["one","two"],"X-Spamd-Bar":{"value":"+++","order":0},)"
    R"("Bad Name":"x"}}})";

RspamdReply parsed(const std::string& json) {
    std::string error;
    auto r = parse_rspamd_reply(json, error);
    REQUIRE_MESSAGE(r, error);
    return *r;
}

}  // namespace

TEST_CASE("rspamd_protocol: the request head") {
    RspamdRequest req;
    req.host = "127.0.0.1:11333";
    req.content_length = 1234;
    req.fields = {{"IP", "192.0.2.1"},   {"Helo", "mx\r\nInjected: yes"}, {"From", "<>"},
                  {"Rcpt", "a@x.test"},  {"Rcpt", "b@x.test"},            {"User", ""},
                  {"Bad Name", "v"},     {"Queue-Id", " 1.2 "}};
    CHECK(rspamd_request_head(req) ==
          "POST /checkv2 HTTP/1.1\r\nHost: 127.0.0.1:11333\r\nConnection: close\r\nContent-Length: 1234\r\n"
          "IP: 192.0.2.1\r\nHelo: mxInjected: yes\r\nFrom: <>\r\nRcpt: a@x.test\r\nRcpt: b@x.test\r\n"
          "Queue-Id: 1.2\r\n\r\n");
}

TEST_CASE("rspamd_protocol: rspamd 3.4's replies") {
    auto g = parsed(kGtube);
    CHECK(g.action == "reject");
    CHECK(g.score == 15.0);
    CHECK(g.required_score == 15.0);
    CHECK(g.is_skipped);
    REQUIRE(g.symbols.size() == 1);
    CHECK(g.symbols[0].name == "GTUBE");
    CHECK(g.smtp_message == "Gtube pattern");
    CHECK_FALSE(g.subject);
    CHECK(rspamd_note(g) == "reject, score=15 required=15 symbols=GTUBE(0)");

    auto w = parsed(kRewrite);
    CHECK(w.action == "rewrite subject");
    CHECK(w.subject == "***SPAM*** asmtpd-rewrite now");
    CHECK(w.smtp_message.empty());

    auto a = parsed(kAddHeader);
    CHECK(a.action == "add header");
    CHECK(a.score == 6.5);
    REQUIRE(a.symbols.size() == 2);   // reply order kept
    CHECK(a.symbols[0].name == "ASMTPD_ADD");
    CHECK(a.symbols[1].options == std::vector<std::string>{"a", "b"});
    CHECK(rspamd_report(a.symbols) == "ASMTPD_ADD(6.5)");
    CHECK(rspamd_note(a) == "add header, score=6.5 required=15 symbols=ASMTPD_ADD(6.5),ZERO(0)");

    auto m = parsed(kMilter);
    REQUIRE(m.remove_headers.size() == 2);
    CHECK(m.remove_headers[0].name == "X-Remove-Me");
    CHECK(m.remove_headers[0].occurrence == 0);
    CHECK(m.remove_headers[1].occurrence == 2);
    REQUIRE(m.add_headers.size() == 4);   // "Bad Name" dropped
    CHECK(m.add_headers[0].name == "X-Asmtpd-Milter");
    CHECK(m.add_headers[0].value == "added by rspamd");
    CHECK_FALSE(m.add_headers[0].order);
    CHECK(m.add_headers[1].value == "one");
    CHECK(m.add_headers[2].value == "two");
    CHECK(m.add_headers[3].value == "+++");
    CHECK(m.add_headers[3].order == 0u);
    CHECK(rspamd_note(parsed(R"({"action":"no action"})")) == "no action, score=0 required=0 symbols=none");
}

TEST_CASE("rspamd_protocol: errors and garbage") {
    std::string error;
    CHECK_FALSE(parse_rspamd_reply(R"({"error":"bad request"})", error));
    CHECK(error == "rspamd error: bad request");
    for (const std::string& bad : std::vector<std::string>{
             "", "not json", "[1,2]", "\"x\"", R"({"score":1})", R"({"action":3})", R"({"action":"reject","score":"9"})",
          R"({"action":"reject","symbols":[]})", R"({"action":"reject","symbols":{"A":{"score":"x"}}})",
          R"({"action":"reject","score":1e999})", "{\"action\":\"reject\"", std::string(100, '[') + std::string(100, ']')}) {
        CAPTURE(bad);
        error.clear();
        CHECK_FALSE(parse_rspamd_reply(bad, error));
        CHECK_FALSE(error.empty());
    }
    // Unknown keys and values of unexpected types in optional places are ignored.
    auto r = parsed(R"({"action":"Add Header","messages":[],"milter":7,"subject":1,"new":{"x":[1]}})");
    CHECK(r.action == "add header");
    CHECK_FALSE(r.subject);
}

TEST_CASE("rspamd_protocol: Haraka's bar, numbers and subject template") {
    CHECK(rspamd_bar(0, "+", "-", "/") == "/");
    CHECK(rspamd_bar(0.99, "+", "-", "/") == "/");
    CHECK(rspamd_bar(-0.5, "+", "-", "/") == "/");
    CHECK(rspamd_bar(3.7, "+", "-", "/") == "+++");
    CHECK(rspamd_bar(-2.1, "+", "-", "/") == "--");
    CHECK(rspamd_bar(1015, "+", "-", "/") == std::string(kMaxBar, '+'));
    CHECK(rspamd_number(15.0) == "15");
    CHECK(rspamd_number(6.5) == "6.5");
    CHECK(rspamd_number(-0.1) == "-0.1");
    CHECK(rspamd_number(-0.0) == "0");
    CHECK(rspamd_subject("[SPAM] %s", "hello") == "[SPAM] hello");
    CHECK(rspamd_subject("%s (spam) %s", "x") == "x (spam) %s");
    CHECK(rspamd_subject("SPAM", "x") == "SPAM");
}

}  // namespace ASMTPD_TEST_UNIT
