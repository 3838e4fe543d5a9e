// milter_settings_test.cpp - tests plugins/milter/milter_settings.cpp: the milter plugin's
// arguments read into values, and the error text for each kind of bad argument.
#include "plugins/milter/milter_settings.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using plugins::milter::DefaultAction;
using plugins::milter::Settings;

namespace {

std::optional<std::string> parse(std::vector<std::string> args, Settings& s) {
    return plugins::milter::parse_settings(args, s);
}

}  // namespace

TEST_CASE("milter settings: defaults are Postfix's, reuse off") {
    Settings s;
    REQUIRE_FALSE(parse({"socket", "inet:10025@127.0.0.1"}, s));
    CHECK(s.target.port == 10025);
    CHECK(s.timeouts.connect_ms == 30000);
    CHECK(s.timeouts.command_ms == 30000);
    CHECK(s.timeouts.content_ms == 300000);
    CHECK(s.default_action == DefaultAction::Tempfail);
    CHECK(s.reuse == 0);
    CHECK(s.reuse_idle_ms == 60000);
}

TEST_CASE("milter settings: every key read") {
    Settings s;
    REQUIRE_FALSE(parse({"socket", "unix:/run/m.sock", "connect_timeout", "2", "command_timeout", "3",
                         "content_timeout", "4", "default_action", "accept", "protocol", "6", "reuse", "16",
                         "reuse_idle", "5", "mail_macros", "i,{mail_addr}"},
                        s));
    CHECK(s.target.unix_socket);
    CHECK(s.target.path == "/run/m.sock");
    CHECK(s.timeouts.connect_ms == 2000);
    CHECK(s.timeouts.command_ms == 3000);
    CHECK(s.timeouts.content_ms == 4000);
    CHECK(s.default_action == DefaultAction::Accept);
    CHECK(s.reuse == 16);
    CHECK(s.reuse_idle_ms == 5000);
    CHECK(s.macros[static_cast<std::size_t>(proto::milter::Stage::Mail)] ==
          std::vector<std::string>{"i", "{mail_addr}"});
}

TEST_CASE("milter settings: errors name the argument") {
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{}, "usage: milter socket"},
        {{"socket", "tcp:1@x"}, "bad milter socket"},
        {{"socket", "inet:1@127.0.0.1", "command_timeout", "0"}, "bad command_timeout '0'"},
        {{"socket", "inet:1@127.0.0.1", "default_action", "maybe"}, "bad default_action 'maybe'"},
        {{"socket", "inet:1@127.0.0.1", "protocol", "2"}, "only 6"},
        {{"socket", "inet:1@127.0.0.1", "reuse", "x"}, "bad reuse 'x'"},
        {{"socket", "inet:1@127.0.0.1", "reuse", "10001"}, "bad reuse '10001'"},
        {{"socket", "inet:1@127.0.0.1", "reuse_idle", "0"}, "bad reuse_idle '0'"},
        {{"socket", "inet:1@127.0.0.1", "rcpt_macros", "{x"}, "rcpt_macros: "},
        {{"socket", "inet:1@127.0.0.1", "color", "red"}, "color"},
    };
    for (const auto& [args, want] : cases) {
        CAPTURE(want);
        Settings s;
        auto err = parse(args, s);
        REQUIRE(err);
        CHECK(err->find(want) != std::string::npos);
    }
}

}  // namespace ASMTPD_TEST_UNIT
