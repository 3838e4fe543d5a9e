// settings_control_test.cpp - asmtpd.yaml's control section (core/smtp/settings_control.cpp):
// off by default, an absolute socket path, octal modes that give others nothing, and errors
// that name the key and line.
#include <doctest/doctest.h>

#include <string>

#include "t/core/smtp/settings_parse.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::smtp;
using namespace asmtpd::smtp::settings_parse;

TEST_CASE("settings control: off unless socket is given") {
    CHECK_FALSE(parse("").settings.control.enabled());
    CHECK_FALSE(parse("control: {}\n").settings.control.enabled());
    CHECK_FALSE(parse("control: {socket: ''}\n").settings.control.enabled());
}

TEST_CASE("settings control: socket, mode, group") {
    auto r = parse("control:\n  socket: /run/asmtpd/control\n  mode: 0600\n  group: mail\n");
    REQUIRE(r.errors.empty());
    CHECK(r.settings.control.enabled());
    CHECK(r.settings.control.socket == "/run/asmtpd/control");
    CHECK(r.settings.control.mode == 0600);
    CHECK(r.settings.control.group == "mail");
    CHECK(r.settings.control.line == 2);
    CHECK(parse("control: {socket: /s}\n").settings.control.mode == 0660);
    CHECK(parse("control: {socket: /s, mode: \"0o640\"}\n").settings.control.mode == 0640);
    CHECK(parse("control: {socket: /s, mode: 660}\n").settings.control.mode == 0660);
}

TEST_CASE("settings control: errors name the key and leave the socket off") {
    auto e = only_error("control:\n  socket: run/control\n");
    CHECK(e == "conf/asmtpd.yaml:2: control.socket: expected an absolute path, got 'run/control'");
    e = only_error("control:\n  socket: /s\n  mode: 0666\n");
    CHECK(e == "conf/asmtpd.yaml:3: control.mode: 0666 lets every local user reload and stop the daemon; use 0660 or 0600");
    e = only_error("control:\n  socket: /s\n  mode: 0980\n");
    CHECK(starts_with(e, "conf/asmtpd.yaml:3: control.mode: expected octal permission bits like 0660, got '0980'"));
    e = only_error("control:\n  socket: /" + std::string(120, 'x') + "\n");
    CHECK(starts_with(e, "conf/asmtpd.yaml:2: control.socket: longer than a Unix socket path may be"));
    e = only_error("control:\n  sock: /s\n");
    CHECK(starts_with(e, "conf/asmtpd.yaml:2: control.sock: unknown key"));
    CHECK_FALSE(parse("control:\n  socket: /s\n  mode: 0777\n").settings.control.enabled());
}

}  // namespace ASMTPD_TEST_UNIT
