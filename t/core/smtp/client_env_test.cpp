// client_env_test.cpp - tests core/smtp/client_env.cpp: tcprules source syntax, the extensions
// (CIDR, IPv6), file:line errors, and the most-specific-match order; random rule sets are
// checked against a brute-force model of "most specific wins".
#include "core/smtp/client_env.hpp"

#include <doctest/doctest.h>

#include <random>
#include <set>
#include <string>
#include <vector>

#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using smtp::ClientEnv;

namespace {
ClientEnv parse_ok(std::string_view text) {
    std::vector<std::string> errors;
    auto e = ClientEnv::parse(text, "tcp.env", errors);
    CHECK_MESSAGE(errors.empty(), (errors.empty() ? "" : errors.front()));
    return e;
}
std::vector<std::string> errors_of(std::string_view text) {
    std::vector<std::string> errors;
    ClientEnv::parse(text, "conf/tcp.env", errors);
    return errors;
}
std::string var(const ClientEnv::Match& m, const std::string& n) {
    auto it = m.vars.find(n);
    return it == m.vars.end() ? "<unset>" : it->second;
}
}  // namespace

TEST_CASE("client_env: tcprules lines, quoting, allow/deny") {
    auto e = parse_ok(
        "# comment\n"
        "\n"
        "127.0.0.1:allow,RELAYCLIENT=\"\",NOSPP=\"\"\n"
        "10.1.2.3:allow,A=\"x,y=z\",B='single \"q\"',C=plain,D=\n"
        "192.0.2.66:deny\n"
        "192.0.2.:allow,GREYLISTING=\"\"   \r\n"
        ":allow,DEFAULT=1\n");
    CHECK(e.size() == 5);
    auto lo = e.lookup("127.0.0.1");
    CHECK(lo.allowed);
    CHECK(var(lo, "RELAYCLIENT").empty());
    CHECK(var(lo, "NOSPP").empty());
    CHECK(var(lo, "DEFAULT") == "<unset>");   // one rule, never merged
    REQUIRE(lo.rule);
    CHECK(lo.rule->where == "tcp.env:3");
    auto q = e.lookup("10.1.2.3");
    CHECK(var(q, "A") == "x,y=z");
    CHECK(var(q, "B") == "single \"q\"");
    CHECK(var(q, "C") == "plain");
    CHECK(var(q, "D").empty());
    CHECK_FALSE(e.lookup("192.0.2.66").allowed);
    CHECK(var(e.lookup("192.0.2.67"), "GREYLISTING").empty());
    CHECK(var(e.lookup("198.51.100.1"), "DEFAULT") == "1");
    // No default rule: allowed, nothing set.
    auto none = parse_ok("1.2.3.4:deny\n").lookup("5.6.7.8");
    CHECK(none.allowed);
    CHECK(none.rule == nullptr);
    CHECK(none.vars.empty());
}

TEST_CASE("client_env: most specific wins, whatever the order in the file") {
    auto e = parse_ok(
        ":allow,W=default\n"
        "10.:allow,W=ten\n"
        "10.1.:allow,W=ten-one\n"
        "10.1.2.0/24:allow,W=cidr24\n"
        "10.1.2.3:allow,W=host\n"
        "10.1.2.128/25:deny\n"
        "=.example.net:allow,W=suffix\n"
        "=mx.example.net:allow,W=name\n"
        "=:allow,W=anyname\n");
    CHECK(var(e.lookup("10.1.2.3"), "W") == "host");
    CHECK(var(e.lookup("10.1.2.4"), "W") == "cidr24");
    CHECK_FALSE(e.lookup("10.1.2.200").allowed);
    CHECK(var(e.lookup("10.1.3.1"), "W") == "ten-one");
    CHECK(var(e.lookup("10.9.9.9"), "W") == "ten");
    CHECK(var(e.lookup("11.0.0.1"), "W") == "default");
    // Names: exact address > =host > networks > =.suffix > "=" > default.
    CHECK(var(e.lookup("10.1.2.3", "mx.example.net"), "W") == "host");
    CHECK(var(e.lookup("10.1.2.4", "MX.Example.NET"), "W") == "name");
    CHECK(var(e.lookup("10.1.2.4", "other.example.net"), "W") == "cidr24");
    CHECK(var(e.lookup("11.0.0.1", "other.example.net"), "W") == "suffix");
    CHECK(var(e.lookup("11.0.0.1", "example.net"), "W") == "anyname");   // suffix needs a dot boundary
    CHECK(var(e.lookup("11.0.0.1", "elsewhere.test"), "W") == "anyname");
    CHECK(var(e.lookup("11.0.0.1", ""), "W") == "default");
}

TEST_CASE("client_env: IPv6, mapped IPv4 and ranges") {
    auto e = parse_ok(
        "::1:allow,W=lo6\n"
        "2001:db8::/32:allow,W=doc\n"
        "2001:db9:1::allow,W=prefix48\n"
        "192.0.2.10-20:allow,W=range\n"
        "192.0.2.0/24:allow,W=net\n");
    CHECK(var(e.lookup("::1"), "W") == "lo6");
    CHECK(var(e.lookup("2001:db8:ffff::9"), "W") == "doc");
    CHECK(var(e.lookup("2001:db9:1:2::9"), "W") == "prefix48");   // tcprules-style "2001:db9:1:" prefix
    CHECK(e.lookup("2001:db9:2::9").rule == nullptr);
    CHECK(var(e.lookup("192.0.2.10"), "W") == "range");
    CHECK(var(e.lookup("192.0.2.20"), "W") == "range");
    CHECK(var(e.lookup("192.0.2.21"), "W") == "net");
    CHECK(var(e.lookup("192.0.2.9"), "W") == "net");
    CHECK(var(e.lookup("::ffff:192.0.2.15"), "W") == "range");
    CHECK(var(e.lookup("::ffff:192.0.2.99"), "W") == "net");
    CHECK(e.lookup("not-an-ip").rule == nullptr);
}

TEST_CASE("client_env: errors name file and line; bad lines are skipped, good ones kept") {
    auto errs = errors_of(
        "1.2.3.4:allow\n"
        "no colon here\n"
        "1.2.3.5:permit\n"
        "1.2.3.6:allowed\n"
        "1.2.3.7:allow,NOVALUE\n"
        "1.2.3.8:allow,1BAD=x\n"
        "1.2.3.9:allow,A=\"unterminated\n"
        "1.2.3.10:allow,A=\"x\"y\n"
        "joe@1.2.3.11:allow\n"
        "1.2.3.12:allow,!UNSET\n"
        "999.1.1.1:allow\n"
        "1.2.3.4:deny\n"
        "1.2.3.20-10:allow\n"
        ":allow\n"
        ":deny\n"
        "1.2.3.4 :allow\n");
    REQUIRE(errs.size() == 14);
    CHECK(errs[0].rfind("conf/tcp.env:2: ", 0) == 0);
    CHECK(errs[1].rfind("conf/tcp.env:3: ", 0) == 0);
    CHECK(errs[10].find("duplicate") != std::string::npos);
    CHECK(errs[10].find("conf/tcp.env:1") != std::string::npos);
    CHECK(errs[12].find("duplicate") != std::string::npos);
    for (const auto& e : errs) CHECK(e.rfind("conf/tcp.env:", 0) == 0);
}

TEST_CASE("client_env: load reads a file; a missing file is an error") {
    test::TempDir d;
    d.write("tcp.env", "127.:allow,RELAYCLIENT=\"\"\n");
    std::vector<std::string> errors;
    auto e = ClientEnv::load(d / "tcp.env", errors);
    REQUIRE(e);
    CHECK(errors.empty());
    CHECK(var(e->lookup("127.0.0.1"), "RELAYCLIENT").empty());
    CHECK_FALSE(ClientEnv::load(d / "missing", errors));
    CHECK(errors.size() == 1);
}

// Random networks: the chosen rule is the one with the longest prefix containing the address.
TEST_CASE("client_env: random rule sets agree with a brute-force longest match") {
    std::mt19937 rng(7);
    for (int iter = 0; iter < 300; ++iter) {
        std::string text = ":allow,W=def\n";
        std::vector<std::pair<proto::Cidr, int>> model;
        std::set<std::pair<std::string, unsigned>> used;
        for (int i = 0; i < 12; ++i) {
            unsigned len = 8 + rng() % 25;   // 8..32
            std::string ip = "10." + std::to_string(rng() % 2) + "." + std::to_string(rng() % 4) + "." +
                             std::to_string(rng() % 8);
            auto c = proto::parse_cidr(ip + "/" + std::to_string(len));
            REQUIRE(c);
            if (!used.insert({c->to_string(), len}).second) continue;
            bool dup = false;
            for (const auto& m : model) dup |= m.first == *c;
            if (dup) continue;
            text += c->to_string() + ":allow,W=" + std::to_string(i) + "\n";
            model.emplace_back(*c, i);
        }
        auto e = parse_ok(text);
        for (int probe = 0; probe < 20; ++probe) {
            std::string ip = "10." + std::to_string(rng() % 2) + "." + std::to_string(rng() % 4) + "." +
                             std::to_string(rng() % 8);
            int best = -1;
            unsigned best_len = 0;
            for (const auto& [net, w] : model)
                if (net.contains(ip) && (best < 0 || net.prefix > best_len)) {
                    best = w;
                    best_len = net.prefix;
                }
            CHECK(var(e.lookup(ip), "W") == (best < 0 ? "def" : std::to_string(best)));
        }
    }
}

}  // namespace ASMTPD_TEST_UNIT
