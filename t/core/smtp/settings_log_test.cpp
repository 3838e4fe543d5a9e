// settings_log_test.cpp - asmtpd.yaml's log: section (target, format, priority_prefix,
// facility, syslog_socket, identifier): defaults, every value, errors with file:line.
#include "core/smtp/settings.hpp"

#include <doctest/doctest.h>

#include <string>

#include "t/core/smtp/settings_parse.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::smtp;
using namespace asmtpd::smtp::settings_parse;
namespace io = asmtpd::io;

TEST_CASE("log: defaults are stderr, text, auto prefixes, facility mail, /dev/log, asmtpd") {
    auto r = parse("log_level: notice\n");
    REQUIRE(r.errors.empty());
    const io::LogConfig c = r.settings.log_config();
    CHECK(c.target == io::LogTarget::Stderr);
    CHECK(c.format == io::LogFormat::Text);
    CHECK(c.prefix == io::PriorityPrefix::Auto);
    CHECK(c.facility == 2);
    CHECK(c.syslog_socket == "/dev/log");
    CHECK(c.identifier == "asmtpd");
    CHECK(c.level == io::Level::Notice);   // log_level stays the level
}

TEST_CASE("log: every key set") {
    auto r = parse("log:\n  target: syslog\n  format: json\n  priority_prefix: never\n  facility: local5\n"
                   "  syslog_socket: /run/x/log\n  identifier: mx1-asmtpd\n");
    REQUIRE(r.errors.empty());
    const io::LogConfig& c = r.settings.log;
    CHECK(c.target == io::LogTarget::Syslog);
    CHECK(c.format == io::LogFormat::Json);
    CHECK(c.prefix == io::PriorityPrefix::Never);
    CHECK(c.facility == 21);
    CHECK(c.syslog_socket == "/run/x/log");
    CHECK(c.identifier == "mx1-asmtpd");
    CHECK(parse("log: {target: journald}\n").settings.log.target == io::LogTarget::Journald);
    CHECK(parse("log: {priority_prefix: always}\n").settings.log.prefix == io::PriorityPrefix::Always);
}

TEST_CASE("log: errors name the key and line and leave the default") {
    auto r = parse("hostname: a.example\nlog:\n  target: file\n");
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0] == "conf/asmtpd.yaml:3: log.target: expected one of stderr, syslog, journald, got 'file'");
    CHECK(r.settings.log.target == io::LogTarget::Stderr);
    CHECK(only_error("log:\n  format: xml\n") == "conf/asmtpd.yaml:2: log.format: expected one of text, json, got 'xml'");
    CHECK(only_error("log:\n  facility: kern\n") ==
          "conf/asmtpd.yaml:2: log.facility: expected mail, daemon, user, news or local0 ... local7, got 'kern'");
    CHECK(only_error("log:\n  syslog_socket: dev/log\n") ==
          "conf/asmtpd.yaml:2: log.syslog_socket: expected an absolute path (like /dev/log), got 'dev/log'");
    CHECK(only_error("log:\n  identifier: a b\n").rfind("conf/asmtpd.yaml:2: log.identifier: no spaces", 0) == 0);
    CHECK(only_error("log:\n  level: info\n").rfind("conf/asmtpd.yaml:2: log.level: unknown key", 0) == 0);
    CHECK(only_error("log: json\n").rfind("conf/asmtpd.yaml:1: log: ", 0) == 0);
}

}  // namespace ASMTPD_TEST_UNIT
