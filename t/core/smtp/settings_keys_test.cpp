// settings_keys_test.cpp - tests that core/smtp/settings.cpp (and the yaml_reader it uses)
// reads every key of asmtpd.yaml: the defaults of an empty document, every key set, log levels,
// flow-style mappings, empty values, booleans, quoted numbers, later keys, and the sections
// that plugins declare (kept as value trees).
#include "core/smtp/settings.hpp"

#include <doctest/doctest.h>

#include <string>
#include <utility>
#include <vector>

#include "t/core/smtp/settings_parse.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::smtp;
using namespace asmtpd::smtp::settings_parse;
using asmtpd::io::Level;
using asmtpd::proto::BareLfPolicy;

TEST_CASE("settings: an empty document gives every default") {
    for (const char* text : {"", "# only a comment\n", "---\n", "~\n"}) {
        CAPTURE(std::string(text));
        auto r = parse(text);
        CHECK(r.errors.empty());
        const Settings& s = r.settings;
        CHECK(s.hostname == machine_hostname());
        REQUIRE(s.listen.size() == 1);
        CHECK(s.listen[0].address == "127.0.0.1");
        CHECK(s.listen[0].port == 2525);
        CHECK(s.listen[0].mode == ListenMode::Smtp);
        CHECK_FALSE(s.listen[0].proxy_protocol);
        CHECK(s.spool_dir == "../var/spool");   // as written: load_settings makes it absolute (config_paths_test)
        CHECK(s.workers == 1);
        CHECK(s.log_level == Level::Info);
        CHECK(s.bare_lf == BareLfPolicy::Reject);
        CHECK(s.bare_lf_normalize_from.empty());
        CHECK(s.greeting.empty());
        CHECK(s.limits.max_connections == 10000);
        CHECK(s.limits.max_connections_per_ip == 50);
        CHECK(s.limits.max_rcpts == 100);
        CHECK(s.limits.databytes == 26214400);
        CHECK(s.limits.max_errors == 10);
        CHECK(s.limits.line_length == 512);
        CHECK(s.limits.data_line_length == 0);
        CHECK(s.limits.pipeline_bytes == 65536);
        CHECK(s.limits.memory_spool == 65536);
        CHECK(s.limits.max_children == 128);
        CHECK(s.timeouts.connect == 300);
        CHECK(s.timeouts.command == 300);
        CHECK(s.timeouts.data == 600);
        CHECK(s.timeouts.plugin == 30);
        CHECK(s.timeouts.shutdown == 30);
        CHECK_FALSE(s.tls.enabled());
        CHECK(s.tls.min_version == "TLSv1.2");
        CHECK(s.trusted_proxies.empty());
    }
}

TEST_CASE("settings: every key is read") {
    auto r = parse(R"(
hostname: mx1.example.org
listen:
  - address: 0.0.0.0
    port: 25
    mode: smtp
    proxy_protocol: false
  - address: "::1"
    port: 587
    mode: submission
  - address: "[2001:db8::5]"
    port: 465
    mode: smtps
    proxy_protocol: yes
spool_dir: /var/spool/asmtpd
workers: 4
log_level: debug
bare_lf: normalize
bare_lf_normalize_from: [127.0.0.0/8, "::1/128", 192.0.2.7]
greeting: "ESMTP ready"
limits:
  max_connections: 20000
  max_connections_per_ip: 7
  max_rcpts: 500
  databytes: 52428800
  max_errors: 3
  line_length: 2048
  data_line_length: 1000
  pipeline_bytes: 4096
  memory_spool: 0
  max_children: 16
timeouts:
  connect: 30
  command: 60
  data: 120
  plugin: 5
  shutdown: 0
tls:
  cert: /etc/asmtpd/cert.pem
  key: /etc/asmtpd/key.pem
  min_version: TLSv1.3
  ciphers: "HIGH:!aNULL"
trusted_proxies:
  - 10.0.0.0/8
  - "2001:db8::/32"
)");
    for (const auto& e : r.errors) MESSAGE(e);
    REQUIRE(r.errors.empty());
    const Settings& s = r.settings;
    CHECK(s.hostname == "mx1.example.org");
    REQUIRE(s.listen.size() == 3);
    CHECK(s.listen[0].address == "0.0.0.0");
    CHECK(s.listen[0].port == 25);
    CHECK(s.listen[0].mode == ListenMode::Smtp);
    CHECK_FALSE(s.listen[0].proxy_protocol);
    CHECK(s.listen[1].address == "::1");
    CHECK(s.listen[1].port == 587);
    CHECK(s.listen[1].mode == ListenMode::Submission);
    CHECK(s.listen[2].address == "2001:db8::5");   // brackets removed
    CHECK(s.listen[2].mode == ListenMode::Smtps);
    CHECK(s.listen[2].proxy_protocol);
    CHECK(s.spool_dir == "/var/spool/asmtpd");
    CHECK(s.workers == 4);
    CHECK(s.log_level == Level::Debug);
    CHECK(s.bare_lf == BareLfPolicy::Normalize);
    CHECK(s.bare_lf_normalize_from == std::vector<std::string>{"127.0.0.0/8", "::1/128", "192.0.2.7"});
    CHECK(s.greeting == "ESMTP ready");
    CHECK(s.limits.max_connections == 20000);
    CHECK(s.limits.max_connections_per_ip == 7);
    CHECK(s.limits.max_rcpts == 500);
    CHECK(s.limits.databytes == 52428800);
    CHECK(s.limits.max_errors == 3);
    CHECK(s.limits.line_length == 2048);
    CHECK(s.limits.data_line_length == 1000);
    CHECK(s.limits.pipeline_bytes == 4096);
    CHECK(s.limits.memory_spool == 0);
    CHECK(s.limits.max_children == 16);
    CHECK(s.timeouts.connect == 30);
    CHECK(s.timeouts.command == 60);
    CHECK(s.timeouts.data == 120);
    CHECK(s.timeouts.plugin == 5);
    CHECK(s.timeouts.shutdown == 0);
    CHECK(s.tls.cert == "/etc/asmtpd/cert.pem");
    CHECK(s.tls.key == "/etc/asmtpd/key.pem");
    CHECK(s.tls.min_version == "TLSv1.3");
    CHECK(s.tls.ciphers == "HIGH:!aNULL");
    CHECK(s.tls.enabled());
    CHECK(s.trusted_proxies == std::vector<std::string>{"10.0.0.0/8", "2001:db8::/32"});
}

TEST_CASE("settings: every log level and flow-style mappings") {
    const std::pair<const char*, Level> levels[] = {
        {"error", Level::Error}, {"warn", Level::Warn}, {"notice", Level::Notice}, {"info", Level::Info},
        {"debug", Level::Debug}};
    for (const auto& [name, level] : levels) {
        auto r = parse(std::string("log_level: ") + name + "\n");
        CHECK(r.errors.empty());
        CHECK(r.settings.log_level == level);
    }
    auto r = parse("limits: { max_rcpts: 5, databytes: 100 }\ntimeouts: {plugin: 1}\n");
    CHECK(r.errors.empty());
    CHECK(r.settings.limits.max_rcpts == 5);
    CHECK(r.settings.limits.databytes == 100);
    CHECK(r.settings.limits.max_errors == 10);   // untouched keys keep their default
    CHECK(r.settings.timeouts.plugin == 1);
}

TEST_CASE("settings: empty values") {
    // hostname empty or null: the machine's name. An empty mapping keeps the defaults.
    auto r = parse("hostname: \"\"\ngreeting:\nlimits:\ntimeouts: {}\nbare_lf_normalize_from:\n");
    CHECK(r.errors.empty());
    CHECK(r.settings.hostname == machine_hostname());
    CHECK(r.settings.greeting.empty());
    CHECK(r.settings.limits.max_rcpts == 100);
    r = parse("hostname:\n");
    CHECK(r.errors.empty());
    CHECK(r.settings.hostname == machine_hostname());
}

TEST_CASE("settings: booleans and quoted numbers") {
    for (const char* t : {"true", "yes", "on", "True", "YES"}) {
        auto r = parse(std::string("listen:\n  - port: 2526\n    proxy_protocol: ") + t + "\n");
        CHECK(r.errors.empty());
        CHECK(r.settings.listen[0].proxy_protocol);
    }
    for (const char* t : {"false", "no", "off", "FALSE"}) {
        auto r = parse(std::string("listen:\n  - port: 2526\n    proxy_protocol: ") + t + "\n");
        CHECK(r.errors.empty());
        CHECK_FALSE(r.settings.listen[0].proxy_protocol);
    }
    auto r = parse("workers: \"3\"\n");
    CHECK(r.errors.empty());
    CHECK(r.settings.workers == 3);
}

TEST_CASE("settings: tls_before_auth, auth_failures_per_ip, tls_handshake and proxy timeouts") {
    auto r = parse_settings("tls_before_auth: false\nlimits: { auth_failures_per_ip: 3 }\n"
                            "timeouts: { tls_handshake: 7, proxy: 4 }\n",
                            "x.yaml");
    CHECK(r.errors.empty());
    CHECK(r.settings.tls_before_auth == false);
    CHECK(r.settings.limits.auth_failures_per_ip == 3);
    CHECK(r.settings.timeouts.tls_handshake == 7);
    CHECK(r.settings.timeouts.proxy == 4);
    auto bad = parse_settings("tls_before_auth: maybe\n", "x.yaml");
    REQUIRE(bad.errors.size() == 1);
    CHECK(bad.errors[0].find("x.yaml:1: tls_before_auth") == 0);
    CHECK(parse_settings("", "x.yaml").settings.tls_before_auth == true);
}

TEST_CASE("settings: a section a plugin declares is kept as a value tree with its places") {
    const std::vector<std::string> keys{"spp_programs"};
    auto r = parse_settings("hostname: a.example\nspp_programs:\n  \":/bin/x -r y\":\n    timeout: 5\n  z: [a, b]\n",
                            kFile, keys);
    REQUIRE(r.errors.empty());
    const auto& t = r.settings.plugin_sections.at("spp_programs");
    CHECK(t.kind == asmtpd::proto::SettingNode::Kind::Map);
    REQUIRE(t.entries.size() == 2);
    CHECK(t.entries[0].first == ":/bin/x -r y");
    const auto& timeout = t.entries[0].second.entries.at(0);
    CHECK(timeout.first == "timeout");
    CHECK(timeout.second.scalar == "5");
    CHECK(timeout.second.error("bad") == "conf/asmtpd.yaml:4: spp_programs.:/bin/x -r y.timeout: bad");
    CHECK(t.entries[1].second.items.size() == 2);
    // Undeclared (no plugin owns it), the same key is an unknown key as before.
    CHECK(starts_with(only_error("spp_programs: {}\n"), "conf/asmtpd.yaml:1: spp_programs: unknown key"));
}

TEST_CASE("settings: issue 17 limits and DATA deadlines") {
    auto d = parse("");
    CHECK(d.settings.limits.header_bytes == 102400);
    CHECK(d.settings.limits.header_lines == 1000);
    CHECK(d.settings.limits.min_free_space == "64M");
    CHECK(d.settings.limits.data_min_rate == 500);
    CHECK(d.settings.timeouts.data_total == 3600);
    CHECK(d.settings.timeouts.data_grace == 30);

    auto r = parse("limits:\n  header_bytes: 0\n  header_lines: 50\n  min_free_space: 5%\n  data_min_rate: 0\n"
                   "timeouts:\n  data_total: 10\n  data_grace: 0\n");
    REQUIRE(r.errors.empty());
    CHECK(r.settings.limits.header_bytes == 0);
    CHECK(r.settings.limits.header_lines == 50);
    CHECK(r.settings.limits.min_free_space == "5%");
    CHECK(r.settings.limits.data_min_rate == 0);
    CHECK(r.settings.timeouts.data_total == 10);
    CHECK(r.settings.timeouts.data_grace == 0);

    std::string e = only_error("limits:\n  min_free_space: lots\n");
    CHECK(starts_with(e, kFile + ":2: limits.min_free_space: "));
    CHECK(e.find("'lots'") != std::string::npos);
    CHECK(starts_with(only_error("timeouts:\n  data_total: 0\n"), kFile + ":2: timeouts.data_total: "));
}

}  // namespace ASMTPD_TEST_UNIT
