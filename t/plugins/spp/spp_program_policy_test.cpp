// spp_program_policy_test.cpp - asmtpd.yaml's spp_programs section, read by the spp plugin from
// the value tree the daemon hands it (the YAML to tree step is tested in settings_test.cpp).
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "plugins/spp/spp_program_policy.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::plugins::spp::parse_program_policies;
using asmtpd::plugins::spp::ProgramPolicy;
using asmtpd::proto::SettingNode;
using Kind = asmtpd::proto::SettingNode::Kind;

namespace {
SettingNode at(Kind k, int line, std::string path) {
    SettingNode n;
    n.kind = k;
    n.file = "conf/asmtpd.yaml";
    n.line = line;
    n.path = std::move(path);
    return n;
}
SettingNode scalar(std::string v, int line, std::string path) {
    SettingNode n = at(Kind::Scalar, line, std::move(path));
    n.scalar = std::move(v);
    return n;
}
// spp_programs: {x: {key: value}} with the entry on line 2 and its key on line 3.
SettingNode one(const std::string& key, SettingNode value) {
    SettingNode inner = at(Kind::Map, 2, "spp_programs.x");
    inner.entries.emplace_back(key, std::move(value));
    SettingNode top = at(Kind::Map, 1, "spp_programs");
    top.entries.emplace_back("x", std::move(inner));
    return top;
}
std::string error_of(const SettingNode& n) {
    std::map<std::string, ProgramPolicy> out;
    auto e = parse_program_policies(n, out);
    return e ? *e : "(no error)";
}
bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }
}  // namespace

TEST_CASE("spp_programs: keyed by the exact smtpplugins line") {
    SettingNode top = at(Kind::Map, 1, "spp_programs");
    SettingNode rbl = at(Kind::Map, 2, "spp_programs.rbl");
    rbl.entries.emplace_back("timeout", scalar("5", 3, "spp_programs.rbl.timeout"));
    rbl.entries.emplace_back("on_timeout", scalar("continue", 4, "spp_programs.rbl.on_timeout"));
    top.entries.emplace_back(":/usr/bin/rblspp -r zen.example", rbl);
    SettingNode grey = at(Kind::Map, 5, "spp_programs.grey");
    grey.entries.emplace_back("timeout", scalar("2", 5, "spp_programs.grey.timeout"));
    top.entries.emplace_back("plugins/greylist", grey);
    SettingNode open = at(Kind::Map, 6, "spp_programs.open");
    open.entries.emplace_back("on_timeout", scalar("fail", 6, "spp_programs.open.on_timeout"));
    top.entries.emplace_back("plugins/only-fail-open", open);

    std::map<std::string, ProgramPolicy> p;
    REQUIRE_FALSE(parse_program_policies(top, p));
    REQUIRE(p.size() == 3);
    const auto& r = p.at(":/usr/bin/rblspp -r zen.example");
    REQUIRE(r.timeout);
    CHECK(r.timeout->count() == 5000);
    CHECK(r.continue_on_timeout);
    CHECK(p.at("plugins/greylist").timeout->count() == 2000);
    CHECK_FALSE(p.at("plugins/greylist").continue_on_timeout);
    CHECK_FALSE(p.at("plugins/only-fail-open").timeout);

    std::map<std::string, ProgramPolicy> none;
    CHECK_FALSE(parse_program_policies(SettingNode{}, none));   // "spp_programs:" alone
    CHECK(none.empty());
}

TEST_CASE("spp_programs: every mistake names the file, the line and the key") {
    CHECK(starts_with(error_of(one("on_timeout", scalar("ignore", 3, "spp_programs.x.on_timeout"))),
                      "conf/asmtpd.yaml:3: spp_programs.x.on_timeout: expected one of fail, continue"));
    CHECK(starts_with(error_of(one("timeout", scalar("0", 3, "spp_programs.x.timeout"))),
                      "conf/asmtpd.yaml:3: spp_programs.x.timeout: expected whole seconds"));
    CHECK(starts_with(error_of(one("timeout", scalar("2.5", 3, "spp_programs.x.timeout"))),
                      "conf/asmtpd.yaml:3: spp_programs.x.timeout"));
    CHECK(starts_with(error_of(one("budget", scalar("3", 3, "spp_programs.x.budget"))),
                      "conf/asmtpd.yaml:3: spp_programs.x.budget: unknown key"));
    CHECK(starts_with(error_of(at(Kind::List, 1, "spp_programs")), "conf/asmtpd.yaml:1: spp_programs: expected a mapping"));
    SettingNode five = at(Kind::Map, 1, "spp_programs");
    five.entries.emplace_back("x", scalar("5", 2, "spp_programs.x"));
    CHECK(starts_with(error_of(five), "conf/asmtpd.yaml:2: spp_programs.x: expected a mapping"));
}

}  // namespace ASMTPD_TEST_UNIT
