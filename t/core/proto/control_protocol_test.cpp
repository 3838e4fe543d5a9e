// control_protocol_test.cpp - tests core/proto/control_protocol.cpp: the control socket's
// request lines (verbs, case, CR LF, partial input, errors, the length cap) and its JSON replies.
#include "core/proto/control_protocol.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;
using S = ControlRequestParse::Status;

TEST_CASE("control request: every verb, any case, LF or CRLF, spaces around") {
    const struct {
        const char* in;
        ControlVerb verb;
        std::size_t consumed;
    } cases[] = {
        {"status\n", ControlVerb::Status, 7},
        {"RELOAD\r\n", ControlVerb::Reload, 8},
        {"  Drain \t\r\nstatus\n", ControlVerb::Drain, 11},
        {"plugins\nrest", ControlVerb::Plugins, 8},
    };
    for (const auto& c : cases) {
        CAPTURE(c.in);
        const auto p = parse_control_request(c.in);
        REQUIRE(p.status == S::Complete);
        CHECK(p.verb == c.verb);
        CHECK(p.consumed == c.consumed);
    }
    CHECK(control_verb_name(ControlVerb::Plugins) == "plugins");
}

TEST_CASE("control request: incomplete until the LF") {
    CHECK(parse_control_request("").status == S::Incomplete);
    CHECK(parse_control_request("stat").status == S::Incomplete);
    CHECK(parse_control_request("status\r").status == S::Incomplete);
    CHECK(parse_control_request(std::string(kMaxControlLine - 1, 'x')).status == S::Incomplete);
}

TEST_CASE("control request: errors name what is wrong; a whole bad line is consumed") {
    auto p = parse_control_request("restart\n");
    CHECK(p.status == S::Invalid);
    CHECK(p.consumed == 8);
    CHECK(p.error == "unknown command 'restart'; expected one of status, reload, drain, plugins");
    p = parse_control_request("status now\n");
    CHECK(p.status == S::Invalid);
    CHECK(p.error == "status takes no arguments");
    p = parse_control_request("\r\n");
    CHECK(p.status == S::Invalid);
    CHECK(p.consumed == 2);
    p = parse_control_request(std::string("st\x01tus\n", 7));
    CHECK(p.error.find("'st?tus'") != std::string::npos);
}

TEST_CASE("control request: no LF within the cap is invalid and consumes nothing") {
    const auto p = parse_control_request(std::string(kMaxControlLine, 'a') + "\n");
    CHECK(p.status == S::Invalid);
    CHECK(p.consumed == 0);
    CHECK(p.error == "request line longer than 256 bytes");
    // An LF at the last byte of the cap still counts.
    const auto q = parse_control_request(std::string(kMaxControlLine - 1, ' ') + "\n");
    CHECK(q.status == S::Invalid);
    CHECK(q.consumed == kMaxControlLine);
}

TEST_CASE("control reply: written and read back") {
    const std::string ok = control_ok_reply(ControlVerb::Status, {{"sessions", 2}});
    CHECK(ok.back() == '\n');
    CHECK(ok.find('\n') == ok.size() - 1);
    auto r = parse_control_reply(ok);
    REQUIRE(r);
    CHECK(r->ok);
    CHECK(r->body["command"] == "status");
    CHECK(r->body["sessions"] == 2);

    const std::string bad = control_error_reply("reload failed", {{"errors", {"a:1: x"}}});
    r = parse_control_reply(bad);
    REQUIRE(r);
    CHECK_FALSE(r->ok);
    CHECK(r->error == "reload failed");
    CHECK(r->body["errors"][0] == "a:1: x");
    // Bytes that are not UTF-8 do not throw.
    CHECK(parse_control_reply(control_error_reply(std::string("\xff\xfe", 2))));
}

TEST_CASE("control reply: what is not one") {
    CHECK_FALSE(parse_control_reply(""));
    CHECK_FALSE(parse_control_reply("ok\n"));
    CHECK_FALSE(parse_control_reply("[true]\n"));
    CHECK_FALSE(parse_control_reply("{\"ok\":1}\n"));
    CHECK_FALSE(parse_control_reply("{\"ok\":false,\"error\":3}\n"));
    CHECK_FALSE(parse_control_reply("{\"ok\":true"));
    CHECK(parse_control_reply("{\"ok\":true}"));
}

}  // namespace ASMTPD_TEST_UNIT
