// dso_legacy_test.cpp - tests plugins/dso/dso_legacy.cpp: IndiMail messages -> the reply the
// client gets (SPP.md §6 "Legacy shim"), without loading any library.
#include <doctest/doctest.h>

#include <string>

#include "hooks/defaults.hpp"
#include "plugins/dso/dso_legacy.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using plugins::dso::legacy_verdict;
using plugins::dso::parse_legacy_message;

namespace {

std::string wire(hooks::Hook h, const hooks::Verdict& v) { return hooks::dispose(h, v).reply.wire(true); }

}  // namespace

TEST_CASE("dso legacy: a one-line message keeps its code and text exactly") {
    for (const char* m : {"553 no\r\n", "553 no", "553 no\n", "553 no\r\n\r\n"}) {
        CAPTURE(m);
        auto r = parse_legacy_message(m);
        REQUIRE(r);
        CHECK(r->code == 553);
        CHECK(r->esc.empty());
        REQUIRE(r->lines.size() == 1);
        CHECK(r->lines[0] == "no");
    }
    auto v = legacy_verdict(1, std::string("553 no\r\n"));
    CHECK(v.result == hooks::Result::Deny);
    CHECK(v.verbatim);
    CHECK(wire(hooks::Hook::Rcpt, v) == "553 no\r\n");
    CHECK(wire(hooks::Hook::Mail, v) == "553 no\r\n");
}

TEST_CASE("dso legacy: multi-line messages become one reply framed by the first code") {
    auto r = parse_legacy_message("553-first\r\n553 second\r\n");
    REQUIRE(r);
    CHECK(r->lines == std::vector<std::string>{"first", "second"});
    auto mixed = parse_legacy_message("550-a\n551 b\nplain text");
    REQUIRE(mixed);
    CHECK(mixed->code == 550);
    CHECK(mixed->lines == std::vector<std::string>{"a", "b", "plain text"});
    CHECK(wire(hooks::Hook::Rcpt, legacy_verdict(7, std::string("553-first\r\n553 second\r\n"))) ==
          "553-first\r\n553 second\r\n");
    // Blank lines between do not make empty reply lines.
    auto blank = parse_legacy_message("554-x\r\n\r\n554 y");
    REQUIRE(blank);
    CHECK(blank->lines == std::vector<std::string>{"x", "y"});
}

TEST_CASE("dso legacy: only ^[45]\\d\\d[ -] starts a valid message") {
    for (const char* m : {"250 ok\r\n", "354 go", "600 x", "45x y", "5531 x", "553", "553\r\n", "", "\r\n",
                          " 553 x", "\r\n553 x", "\n553 x", "no code at all", "553_x"}) {
        CAPTURE(m);
        CHECK_FALSE(parse_legacy_message(m));
        auto v = legacy_verdict(1, std::string(m));
        CHECK(v.result == hooks::Result::DenySoft);
        CHECK(wire(hooks::Hook::Rcpt, v) == "451 4.3.0 rejected by plugin\r\n");
    }
    CHECK(parse_legacy_message("421 go away"));
    CHECK(parse_legacy_message("599-x"));
    CHECK(parse_legacy_message("400 "));
}

TEST_CASE("dso legacy: return values and NULL messages") {
    CHECK(legacy_verdict(0, std::string("553 ignored")).result == hooks::Result::Declined);
    CHECK(legacy_verdict(0, std::nullopt).result == hooks::Result::Declined);
    for (int rc : {1, -1, 2, 120}) {
        CAPTURE(rc);
        CHECK(legacy_verdict(rc, std::string("553 x")).result == hooks::Result::Deny);
        auto v = legacy_verdict(rc, std::nullopt);
        CHECK(v.result == hooks::Result::DenySoft);
        CHECK(wire(hooks::Hook::Mail, v) == "451 4.3.0 rejected by plugin\r\n");
    }
}

TEST_CASE("dso legacy: 4xx is temporary and never disconnects, even 421") {
    auto v = legacy_verdict(1, std::string("421 go away\r\n"));
    CHECK(v.result == hooks::Result::DenySoft);
    auto d = hooks::dispose(hooks::Hook::Rcpt, v);
    CHECK(d.action == hooks::Action::Respond);
    CHECK(d.reply.wire(true) == "421 go away\r\n");
    // data_post: the refusal replaces the final reply; the session continues.
    auto dp = hooks::dispose(hooks::Hook::DataPost, legacy_verdict(1, std::string("554 5.7.1 spam")));
    CHECK(dp.action == hooks::Action::Respond);
    CHECK(dp.reply.wire(true) == "554 5.7.1 spam\r\n");
}

TEST_CASE("dso legacy: hostile messages cannot break the reply framing") {
    static const char raw[] = "553 a\rb\x01" "c\r\n553 d\0e";
    auto v = legacy_verdict(1, std::string(raw, sizeof raw - 1));
    std::string w = wire(hooks::Hook::Rcpt, v);
    // One reply: every line starts with the code, only CRLF ends lines, no controls.
    CHECK(w.substr(0, 4) == "553-");
    for (char c : w) CHECK((static_cast<unsigned char>(c) >= 0x20 || c == '\r' || c == '\n'));
    // At most kMaxLegacyLines lines survive.
    std::string many;
    for (int i = 0; i < 100; ++i) many += "550-line\r\n";
    auto r = parse_legacy_message(many);
    REQUIRE(r);
    CHECK(r->lines.size() == plugins::dso::kMaxLegacyLines);
    // A 510+ byte line is cut at the wire, not rejected.
    std::string longline = "550 " + std::string(2000, 'x');
    CHECK(wire(hooks::Hook::Rcpt, legacy_verdict(1, longline)).size() <= 512);
}

}  // namespace ASMTPD_TEST_UNIT
