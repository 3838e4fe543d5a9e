// privileges_test.cpp - tests core/smtp/privileges.cpp: asmtpd.yaml's user:/group: keys as
// parsed by settings.cpp, and resolve_run_as for every row of privileges.hpp's table, as root
// and as an ordinary user (the ids are passed in, so no test needs to be root). The drop itself
// runs in the e2e test (t/e2e/test_privilege_drop.py), where a real process can lose root.
#include "core/smtp/privileges.hpp"

#include <doctest/doctest.h>

#include <pwd.h>

#include <string>

#include "t/core/smtp/settings_parse.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::smtp;
using namespace asmtpd::smtp::settings_parse;

namespace {

const StartIds kRoot{0, 0};
const StartIds kNobody{65534, 65534};   // Debian's nobody:nogroup, in the base passwd files

std::optional<RunAs> resolve(const std::string& yaml, StartIds ids, std::string& error) {
    auto r = parse(yaml);
    REQUIRE(r.errors.empty());
    return resolve_run_as(r.settings.run_as, kFile, ids, error);
}

std::string refusal(const std::string& yaml, StartIds ids) {
    std::string error;
    auto r = resolve(yaml, ids, error);
    CHECK_FALSE(r.has_value());
    return error;
}

}  // namespace

TEST_CASE("settings: user and group are read with their lines") {
    auto r = parse("hostname: a.example\nuser: nobody\ngroup: nogroup\n");
    REQUIRE(r.errors.empty());
    CHECK(r.settings.run_as.user == "nobody");
    CHECK(r.settings.run_as.user_line == 2);
    CHECK(r.settings.run_as.group == "nogroup");
    CHECK(r.settings.run_as.group_line == 3);
    auto none = parse("");
    CHECK(none.settings.run_as.user.empty());
    CHECK(none.settings.run_as.user_line == 0);
    CHECK(starts_with(only_error("user: ''\n"), "conf/asmtpd.yaml:1: user: "));
    CHECK(starts_with(only_error("user: [a, b]\n"), "conf/asmtpd.yaml:1: user: expected a single value"));
    CHECK(starts_with(only_error("group:\n  a: b\n"), "conf/asmtpd.yaml:2: group: expected a single value"));
}

TEST_CASE("run_as: root without user: is refused, naming the key and the way out") {
    std::string e = refusal("hostname: a.example\n", kRoot);
    CHECK(starts_with(e, "conf/asmtpd.yaml:1: user: not set"));
    CHECK(e.find("user: root") != std::string::npos);
}

TEST_CASE("run_as: user: root keeps root, and only when written") {
    std::string error;
    auto r = resolve("user: root\n", kRoot, error);
    REQUIRE(r.has_value());
    CHECK_FALSE(r->drop);
    CHECK(r->uid == 0);
    CHECK(starts_with(refusal("user: root\ngroup: nogroup\n", kRoot), "conf/asmtpd.yaml:2: group: "));
    CHECK(starts_with(refusal("user: root\n", kNobody), "conf/asmtpd.yaml:1: user: 'root' is root"));
}

TEST_CASE("run_as: root with user: nobody drops to nobody's uid, primary group and groups") {
    std::string error;
    auto r = resolve("user: nobody\n", kRoot, error);
    REQUIRE(r.has_value());
    CHECK(r->drop);
    CHECK(r->name == "nobody");
    CHECK(r->uid == 65534);
    CHECK(r->gid == 65534);
    REQUIRE_FALSE(r->groups.empty());
    CHECK(r->groups.front() == 65534);
    for (gid_t g : r->groups) CHECK(g != 0);

    // group: overrides the primary group; numeric ids work, also without a passwd entry.
    r = resolve("user: nobody\ngroup: daemon\n", kRoot, error);
    REQUIRE(r.has_value());
    CHECK(r->gid == 1);
    CHECK(r->groups.front() == 1);
    r = resolve("user: 4242\n", kRoot, error);
    REQUIRE(r.has_value());
    CHECK(r->uid == 4242);
    CHECK(r->gid == 4242);
    CHECK(r->groups == std::vector<gid_t>{4242});
    CHECK(r->name == "4242");
}

TEST_CASE("run_as: names that do not resolve are errors at their line, never root") {
    CHECK(refusal("hostname: a.example\nuser: no-such-user-here\n", kRoot) ==
          "conf/asmtpd.yaml:2: user: no such user 'no-such-user-here'");
    CHECK(refusal("user: nobody\ngroup: no-such-group-here\n", kRoot) ==
          "conf/asmtpd.yaml:2: group: no such group 'no-such-group-here'");
    CHECK(starts_with(refusal("user: 4294967295\n", kRoot), "conf/asmtpd.yaml:1: user: no such user"));
    CHECK(starts_with(refusal("group: nogroup\n", kNobody), "conf/asmtpd.yaml:1: group: needs user:"));
}

TEST_CASE("run_as: not root: no user:, or our own user, runs as we are; another user is refused") {
    std::string error;
    auto r = resolve("", kNobody, error);
    REQUIRE(r.has_value());
    CHECK_FALSE(r->drop);
    r = resolve("user: nobody\n", kNobody, error);
    REQUIRE(r.has_value());
    CHECK_FALSE(r->drop);
    r = resolve("user: 65534\ngroup: nogroup\n", kNobody, error);
    REQUIRE(r.has_value());
    CHECK_FALSE(r->drop);

    std::string e = refusal("user: daemon\n", kNobody);
    CHECK(starts_with(e, "conf/asmtpd.yaml:1: user: asmtpd runs as uid 65534, so it cannot switch to 'daemon'"));
    CHECK(starts_with(refusal("user: nobody\ngroup: daemon\n", kNobody), "conf/asmtpd.yaml:2: group: asmtpd runs with gid 65534"));
}

TEST_CASE("drop_privileges: nothing to do when the run_as keeps our ids") {
    std::string error;
    CHECK(drop_privileges(RunAs{}, error));
    CHECK(error.empty());
}

}  // namespace ASMTPD_TEST_UNIT
