// spp_env_test.cpp - tests plugins/spp/spp_env.cpp: the allow-list, tcpserver's variables,
// the layering of a child's environment, qmail-spp's SMTP* variables and the name rules.
#include "plugins/common/child_env.hpp"
#include "plugins/spp/spp_env.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using namespace asmtpd::plugins::spp;

namespace {
bool has(const std::vector<std::string>& v, const std::string& e) { return std::find(v.begin(), v.end(), e) != v.end(); }
std::size_t count_name(const std::vector<std::string>& v, const std::string& name) {
    return std::count_if(v.begin(), v.end(), [&](const std::string& e) { return e.rfind(name + "=", 0) == 0; });
}
}  // namespace

TEST_CASE("spp_env: only PATH, TZ and LANG come from the server") {
    auto s = ServerEnv::from({"PATH=/usr/bin:/bin", "TZ=UTC", "LANG=C.UTF-8", "AWS_SECRET=x", "HOME=/root",
                              "LD_PRELOAD=/evil.so", "NOEQUALS", "PATHX=1"});
    REQUIRE(s.vars.size() == 3);
    auto env = child_environment(s, {});
    CHECK(has(env, "PATH=/usr/bin:/bin"));
    CHECK(has(env, "TZ=UTC"));
    CHECK(has(env, "LANG=C.UTF-8"));
    CHECK(env.size() == 3);
    // The captured one never holds anything else either.
    for (const auto& [n, v] : ServerEnv::capture().vars) CHECK((n == "PATH" || n == "TZ" || n == "LANG"));
}

TEST_CASE("spp_env: the connection map wins over the server and each name appears once") {
    auto s = ServerEnv::from({"PATH=/bin", "TZ=UTC"});
    EnvMap m{{"TZ", "Europe/Paris"}, {"GREYLISTING", ""}, {"bad=name", "x"}, {"", "x"},
             {"NULV", std::string("a\0b", 3)}, {"OK", "v=w"}};
    auto env = child_environment(s, m);
    CHECK(has(env, "TZ=Europe/Paris"));
    CHECK(count_name(env, "TZ") == 1);
    CHECK(has(env, "PATH=/bin"));
    CHECK(has(env, "GREYLISTING="));
    CHECK(has(env, "OK=v=w"));
    CHECK(count_name(env, "NULV") == 0);
    CHECK(count_name(env, "bad") == 0);
    for (const auto& e : env) CHECK(e.front() != '=');
}

TEST_CASE("spp_env: tcpserver's variables") {
    proto::ConnectionInfo c;
    c.remote_ip = "192.0.2.10";
    c.remote_port = 40000;
    c.local_ip = "192.0.2.1";
    c.local_port = 25;
    EnvMap m;
    add_tcpserver_vars(c, "mx.example.org", m);
    CHECK(m.at("PROTO") == "TCP");
    CHECK(m.at("TCPREMOTEIP") == "192.0.2.10");
    CHECK(m.at("TCPREMOTEPORT") == "40000");
    CHECK(m.at("TCPLOCALIP") == "192.0.2.1");
    CHECK(m.at("TCPLOCALPORT") == "25");
    CHECK(m.at("TCPLOCALHOST") == "mx.example.org");
    CHECK_FALSE(m.count("TCPREMOTEHOST"));   // unknown name: unset, never "unknown"
    CHECK_FALSE(m.count("TCP6REMOTEIP"));
    CHECK_FALSE(m.count("TCPREMOTEINFO"));

    // tcp.env values stay; a known reverse name is exported; mapped IPv4 is a dotted quad.
    EnvMap m2{{"TCPREMOTEIP", "overridden"}};
    c.remote_host = "client.example.net";
    c.remote_ip = "::ffff:198.51.100.7";
    add_tcpserver_vars(c, "", m2);
    CHECK(m2.at("TCPREMOTEIP") == "overridden");
    CHECK(m2.at("TCPREMOTEHOST") == "client.example.net");
    CHECK_FALSE(m2.count("TCPLOCALHOST"));
    EnvMap m3;
    add_tcpserver_vars(c, "", m3);
    CHECK(m3.at("TCPREMOTEIP") == "198.51.100.7");

    proto::ConnectionInfo v6;
    v6.remote_ip = "2001:db8::1";
    v6.local_ip = "::1";
    v6.remote_port = 1;
    v6.local_port = 2;
    EnvMap m6;
    add_tcpserver_vars(v6, "h", m6);
    CHECK(m6.at("TCPREMOTEIP") == "2001:db8::1");
    CHECK(m6.at("TCP6REMOTEIP") == "2001:db8::1");
    CHECK(m6.at("TCP6LOCALIP") == "::1");
    CHECK(m6.at("TCP6LOCALPORT") == "2");
    CHECK(m6.at("PROTO") == "TCP");
}

TEST_CASE("spp_env: TCPREMOTE* follow an XFORWARD client and come back as they were") {
    proto::ConnectionInfo c;
    c.remote_ip = "127.0.0.1";
    c.remote_port = 40000;
    c.local_ip = "127.0.0.1";
    c.local_port = 25;
    c.env = {{"TCPREMOTEHOST", "proxy.from.tcp.env"}};
    add_tcpserver_vars(c, "", c.env);
    ClientVars shown{c.remote_ip, c.remote_port, {}};
    const EnvMap at_connect = c.env;

    c.remote_host = "late.reverse.name";   // the lookup ending later alone changes nothing
    follow_client(c, shown);
    CHECK(c.env == at_connect);

    c.remote_ip = "2001:db8::7";           // XFORWARD ADDR/PORT/NAME
    c.remote_port = 4711;
    c.remote_host = "mail.example.org";
    follow_client(c, shown);
    CHECK(c.env.at("TCPREMOTEIP") == "2001:db8::7");
    CHECK(c.env.at("TCP6REMOTEIP") == "2001:db8::7");
    CHECK(c.env.at("TCPREMOTEPORT") == "4711");
    CHECK(c.env.at("TCPREMOTEHOST") == "mail.example.org");
    CHECK(c.env.at("TCPLOCALIP") == "127.0.0.1");
    c.remote_ip = "192.0.2.8";             // a second XFORWARD, without NAME
    c.remote_host.clear();
    follow_client(c, shown);
    CHECK(c.env.at("TCPREMOTEIP") == "192.0.2.8");
    CHECK_FALSE(c.env.count("TCPREMOTEHOST"));
    CHECK_FALSE(c.env.count("TCP6REMOTEIP"));

    c.remote_ip = "127.0.0.1";             // the transaction ended: the proxy again, tcp.env's name too
    c.remote_port = 40000;
    c.remote_host = "late.reverse.name";
    follow_client(c, shown);
    CHECK(c.env == at_connect);
    CHECK_FALSE(shown.saved);
}

TEST_CASE("spp_env: qmail-spp's SMTP* variables") {
    EnvMap m;
    set_helo_vars(m, "");
    CHECK(m.at("SMTPHELOHOST").empty());
    set_helo_vars(m, "client.example");
    CHECK(m.at("SMTPHELOHOST") == "client.example");
    set_mail_address(m, proto::Address{});
    CHECK(m.at("SMTPMAILFROM").empty());
    set_mail_address(m, proto::Address{"quoted user", "Example.ORG"});
    CHECK(m.at("SMTPMAILFROM") == "quoted user@Example.ORG");   // no quotes, case kept
    set_rcpt_address(m, proto::Address{"postmaster", ""});
    CHECK(m.at("SMTPRCPTTO") == "postmaster");
    set_rcpt_counters(m, 1, 4, false);
    CHECK(m.at("SMTPRCPTCOUNT") == "1");
    CHECK(m.at("SMTPRCPTCOUNTALL") == "4");
    CHECK(m.at("SMTPRCPTHOSTSOK") == "0");
    set_rcpt_counters(m, 0, 1, true);
    CHECK(m.at("SMTPRCPTHOSTSOK") == "1");
    CHECK(env_address(proto::Address{"a", "b.example"}) == "a@b.example");
}

TEST_CASE("spp_env: [pass] and [auth] variables") {
    EnvMap m;
    set_rcpt_counters(m, 2, 5, true);
    m["SMTPRCPTTO"] = "before@c.example";
    set_pass_vars(m, proto::Address{"after", "c.example-gw"}, 3);
    CHECK(m.at("SMTPRCPTCOUNT") == "3");           // this recipient counted
    CHECK(m.at("SMTPRCPTCOUNTALL") == "5");        // untouched
    CHECK(m.at("SMTPRCPTHOSTSOK") == "1");
    CHECK(m.at("SMTPRCPTTO") == "after@c.example-gw");
    // qmail's table spells the methods in lower case, whatever the client typed.
    for (auto [mech, want] : {std::pair{"LOGIN", "login"}, {"PLAIN", "plain"}, {"CRAM-MD5", "cram-md5"},
                              {"Login", "login"}, {"cram-md5", "cram-md5"}}) {
        set_auth_vars(m, mech, "alice");
        CHECK(m.at("SMTPAUTHMETHOD") == want);
    }
    set_auth_vars(m, "PLAIN", "user@Example.ORG");
    CHECK(m.at("SMTPAUTHUSER") == "user@Example.ORG");   // as given, case kept
    set_auth_vars(m, "PLAIN", "");
    CHECK(m.at("SMTPAUTHUSER").empty());
}

TEST_CASE("spp_env: variable names and the protected list") {
    for (const char* ok : {"a", "_", "A1", "SMTP_X", "foo_bar9", "_9"}) CHECK_MESSAGE(plugins::valid_env_name(ok), ok);
    for (const char* bad : {"", "1a", "a-b", "a b", "a=b", "é", "a.b", "a\r"}) CHECK_MESSAGE(!plugins::valid_env_name(bad), bad);
    std::vector<std::string> extra{"QMAILQUEUE"};
    CHECK(plugins::protected_env_name("PATH", {}));
    CHECK(plugins::protected_env_name("LD_PRELOAD", {}));
    CHECK(plugins::protected_env_name("LD_", {}));
    CHECK(plugins::protected_env_name("QMAILQUEUE", extra));
    CHECK_FALSE(plugins::protected_env_name("QMAILQUEUE", {}));
    CHECK_FALSE(plugins::protected_env_name("PATHX", {}));
    CHECK_FALSE(plugins::protected_env_name("path", {}));
    CHECK_FALSE(plugins::protected_env_name("XLD_", {}));
}

}  // namespace ASMTPD_TEST_UNIT
