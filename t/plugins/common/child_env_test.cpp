// child_env_test.cpp - tests plugins/common/child_env.cpp: names, NAME=VALUE arguments, and the order in
// which tcpserver variables, the per-client map and plugin arguments override each other.
#include <doctest/doctest.h>

#include <algorithm>

#include "plugins/common/child_env.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;

namespace {
bool has(const std::vector<std::string>& env, const std::string& entry) {
    return std::find(env.begin(), env.end(), entry) != env.end();
}
bool has_name(const std::vector<std::string>& env, const std::string& name) {
    return std::any_of(env.begin(), env.end(), [&](const std::string& e) { return e.rfind(name + "=", 0) == 0; });
}
}  // namespace

TEST_CASE("child_env: valid names are shell identifiers") {
    CHECK(plugins::valid_env_name("QMAILQUEUE"));
    CHECK(plugins::valid_env_name("_x9"));
    CHECK_FALSE(plugins::valid_env_name(""));
    CHECK_FALSE(plugins::valid_env_name("9LIVES"));
    CHECK_FALSE(plugins::valid_env_name("A-B"));
    CHECK_FALSE(plugins::valid_env_name("A=B"));
    CHECK_FALSE(plugins::valid_env_name(std::string_view("A\0B", 3)));
}

TEST_CASE("child_env: NAME=VALUE arguments") {
    plugins::EnvMap m;
    CHECK_FALSE(plugins::add_env_assignment("FOO=a=b", m));
    CHECK(m["FOO"] == "a=b");
    CHECK_FALSE(plugins::add_env_assignment("EMPTY=", m));
    CHECK(m.count("EMPTY") == 1);
    CHECK(plugins::add_env_assignment("NOEQUALS", m));
    CHECK(plugins::add_env_assignment("=x", m));
    CHECK(plugins::add_env_assignment("BAD NAME=x", m));
    CHECK(plugins::add_env_assignment(std::string_view("NUL=a\0b", 7), m));
    CHECK(m.size() == 2);
}

TEST_CASE("child_env: tcpserver variables, then the client map, then plugin arguments") {
    proto::ConnectionInfo c;
    c.remote_ip = "192.0.2.7";
    c.remote_port = 40000;
    c.local_ip = "127.0.0.1";
    c.local_port = 25;
    auto env = plugins::tcpserver_environment(c, {});
    CHECK(has(env, "PROTO=TCP"));
    CHECK(has(env, "TCPREMOTEIP=192.0.2.7"));
    CHECK(has(env, "TCPREMOTEPORT=40000"));
    CHECK(has(env, "TCPLOCALPORT=25"));
    CHECK_FALSE(has_name(env, "TCPREMOTEHOST"));   // unset, never "unknown"
    CHECK_FALSE(has_name(env, "RELAYCLIENT"));

    c.remote_host = "mx.example";
    c.relay_client = true;
    c.env["QMAILQUEUE"] = "/from/client/map";
    c.env["PATH"] = "/client/bin";
    c.env["bad-name"] = "x";
    c.env["NULVALUE"] = std::string("a\0b", 3);
    env = plugins::tcpserver_environment(c, {{"QMAILQUEUE", "/from/plugin"}, {"EXTRA", "1"}});
    CHECK(has(env, "TCPREMOTEHOST=mx.example"));
    CHECK(has(env, "RELAYCLIENT="));
    CHECK(has(env, "PATH=/client/bin"));
    CHECK(has(env, "QMAILQUEUE=/from/plugin"));
    CHECK_FALSE(has(env, "QMAILQUEUE=/from/client/map"));
    CHECK(has(env, "EXTRA=1"));
    CHECK_FALSE(has_name(env, "bad-name"));
    CHECK_FALSE(has_name(env, "NULVALUE"));
}

TEST_CASE("child_env: timeout and env options of helper-program plugins") {
    const std::vector<std::string> args = {"timeout", "2.5", "env", "A=1", "prog", "timeout"};
    std::uint64_t ms = 30000;
    plugins::EnvMap env;
    std::size_t i = 0;
    CHECK(plugins::is_child_option(args[0]));
    CHECK_FALSE(plugins::take_child_option(args, i, ms, env));
    CHECK(i == 1);
    CHECK(ms == 2500);
    i = 2;
    CHECK_FALSE(plugins::take_child_option(args, i, ms, env));
    CHECK(env["A"] == "1");
    CHECK_FALSE(plugins::is_child_option(args[4]));
    i = 5;
    CHECK(*plugins::take_child_option(args, i, ms, env) == "'timeout' needs a value");
    const std::vector<std::string> bad = {"timeout", "0", "env", "1X=y"};
    i = 0;
    CHECK(plugins::take_child_option(bad, i, ms, env)->find("bad timeout") != std::string::npos);
    i = 2;
    CHECK(plugins::take_child_option(bad, i, ms, env)->find("bad env") != std::string::npos);
    CHECK(ms == 2500);
}

}  // namespace ASMTPD_TEST_UNIT
