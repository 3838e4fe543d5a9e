// settings_metrics_test.cpp - asmtpd.yaml's metrics section: off by default, loopback
// addresses, remote ones only with allow_remote, and errors that name the key and line.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "core/smtp/settings.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::smtp;

namespace {
SettingsResult parse(const std::string& yaml) { return parse_settings(yaml, "conf/asmtpd.yaml"); }
std::string only_error(const std::string& yaml) {
    auto r = parse(yaml);
    INFO("yaml: ", yaml);
    REQUIRE(r.errors.size() == 1);
    return r.errors[0];
}
}  // namespace

TEST_CASE("settings metrics: off unless listen is given") {
    CHECK_FALSE(parse("").settings.metrics.enabled());
    CHECK_FALSE(parse("metrics: {}\n").settings.metrics.enabled());
    CHECK_FALSE(parse("metrics:\n  allow_remote: true\n").settings.metrics.enabled());
}

TEST_CASE("settings metrics: loopback addresses") {
    auto r = parse("metrics:\n  listen: 127.0.0.1:9425\n");
    REQUIRE(r.errors.empty());
    CHECK(r.settings.metrics.enabled());
    CHECK(r.settings.metrics.address == "127.0.0.1");
    CHECK(r.settings.metrics.port == 9425);
    CHECK(r.settings.metrics.line == 2);
    r = parse("metrics: {listen: \"[::1]:9425\"}\n");
    REQUIRE(r.errors.empty());
    CHECK(r.settings.metrics.address == "::1");
    CHECK(parse("metrics: {listen: 127.0.0.53:1}\n").errors.empty());
}

TEST_CASE("settings metrics: another address only with allow_remote") {
    const auto e = only_error("metrics:\n  listen: 0.0.0.0:9425\n");
    CHECK(e.rfind("conf/asmtpd.yaml:2: metrics.listen: '0.0.0.0' is not a loopback address", 0) == 0);
    CHECK(e.find("allow_remote: true") != std::string::npos);
    auto r = parse("metrics:\n  listen: 192.0.2.7:9425\n  allow_remote: true\n");
    REQUIRE(r.errors.empty());
    CHECK(r.settings.metrics.address == "192.0.2.7");
    CHECK(r.settings.metrics.allow_remote);
}

TEST_CASE("settings metrics: bad values name the key and line") {
    CHECK(only_error("metrics:\n  listen: localhost:9425\n").rfind("conf/asmtpd.yaml:2: metrics.listen: expected IP:port", 0) == 0);
    CHECK(only_error("metrics:\n  listen: 127.0.0.1\n").rfind("conf/asmtpd.yaml:2: metrics.listen", 0) == 0);
    CHECK(only_error("metrics:\n  listen: 127.0.0.1:0\n").rfind("conf/asmtpd.yaml:2: metrics.listen", 0) == 0);
    CHECK(only_error("metrics:\n  port: 9425\n").rfind("conf/asmtpd.yaml:2: metrics.port", 0) == 0);
    CHECK(only_error("metrics: 9425\n").rfind("conf/asmtpd.yaml:1: metrics", 0) == 0);
    CHECK(only_error("metrics:\n  listen: 127.0.0.1:9425\n  allow_remote: maybe\n")
              .rfind("conf/asmtpd.yaml:3: metrics.allow_remote", 0) == 0);
}

TEST_CASE("settings metrics: not on an SMTP listener's port") {
    const auto e = only_error("listen:\n  - address: 127.0.0.1\n    port: 2525\nmetrics:\n  listen: 127.0.0.1:2525\n");
    CHECK(e.rfind("conf/asmtpd.yaml:5: metrics.listen: 127.0.0.1:2525 is already an SMTP listener (line 2)", 0) == 0);
}

}  // namespace ASMTPD_TEST_UNIT
