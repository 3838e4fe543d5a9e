// settings_test.cpp - tests core/smtp/settings.cpp (and the yaml_reader it uses): every key,
// defaults, every kind of error with its file:line and key path, all errors reported at once,
// the shipped config/asmtpd.yaml, and load_settings on real files.
#include "core/smtp/settings.hpp"
#include "plugins/builtin.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace asmtpd::smtp;
using asmtpd::io::Level;
using asmtpd::proto::BareLfPolicy;
namespace fs = std::filesystem;

namespace {

const std::string kFile = "conf/asmtpd.yaml";

SettingsResult parse(const std::string& yaml) { return parse_settings(yaml, kFile); }

// The one error of a parse; fails the test if there is not exactly one.
std::string only_error(const std::string& yaml) {
    auto r = parse(yaml);
    INFO("yaml: ", yaml);
    REQUIRE(r.errors.size() == 1);
    return r.errors[0];
}

bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

struct TempDir {
    std::string path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "asmtpd-settings-XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path = tmpl;
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

}  // namespace

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
        CHECK(s.spool_dir == "./var/spool");
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

TEST_CASE("settings: unknown keys at every level, with file:line and key path") {
    CHECK(starts_with(only_error("hostname: a.example\nbogus_key: 1\n"), "conf/asmtpd.yaml:2: bogus_key: unknown key"));
    CHECK(starts_with(only_error("limits:\n  max_rcpts: 5\n  no_such_limit: 1\n"),
                      "conf/asmtpd.yaml:3: limits.no_such_limit: unknown key"));
    CHECK(starts_with(only_error("timeouts:\n  idle: 5\n"), "conf/asmtpd.yaml:2: timeouts.idle: unknown key"));
    CHECK(starts_with(only_error("tls:\n  certificate: x\n"), "conf/asmtpd.yaml:2: tls.certificate: unknown key"));
    CHECK(starts_with(only_error("listen:\n  - port: 25\n    addr: 1.2.3.4\n"),
                      "conf/asmtpd.yaml:3: listen[0].addr: unknown key"));
    // The message lists the known keys, so a typo is easy to fix.
    CHECK(only_error("limit:\n  max_rcpts: 5\n").find("limits") != std::string::npos);
    // Keys are case-sensitive.
    CHECK(starts_with(only_error("Workers: 2\n"), "conf/asmtpd.yaml:1: Workers: unknown key"));
}

TEST_CASE("settings: wrong types") {
    CHECK(only_error("workers: many\n") == "conf/asmtpd.yaml:1: workers: expected a whole number, got 'many'");
    CHECK(starts_with(only_error("limits: 5\n"), "conf/asmtpd.yaml:1: limits: expected a mapping"));
    CHECK(starts_with(only_error("limits:\n  - 5\n"), "conf/asmtpd.yaml:2: limits: expected a mapping, got a list"));
    CHECK(starts_with(only_error("listen: 127.0.0.1\n"), "conf/asmtpd.yaml:1: listen: expected a list"));
    CHECK(starts_with(only_error("listen:\n  address: 1.2.3.4\n"), "conf/asmtpd.yaml:2: listen: expected a list"));
    CHECK(starts_with(only_error("listen:\n  - 25\n"), "conf/asmtpd.yaml:2: listen[0]: expected a mapping"));
    CHECK(starts_with(only_error("hostname: [a, b]\n"), "conf/asmtpd.yaml:1: hostname: expected a single value, got a list"));
    CHECK(starts_with(only_error("spool_dir:\n  a: b\n"), "conf/asmtpd.yaml:2: spool_dir: expected a single value, got a mapping"));
    CHECK(starts_with(only_error("bare_lf_normalize_from: 10.0.0.0/8\n"),
                      "conf/asmtpd.yaml:1: bare_lf_normalize_from: expected a list"));
    CHECK(starts_with(only_error("trusted_proxies:\n  - [a]\n"), "conf/asmtpd.yaml:2: trusted_proxies[0]: expected a single value"));
    CHECK(starts_with(only_error("listen:\n  - port: 25\n    proxy_protocol: maybe\n"),
                      "conf/asmtpd.yaml:3: listen[0].proxy_protocol: expected true or false, got 'maybe'"));
    CHECK(starts_with(only_error("timeouts:\n  data: 1.5\n"), "conf/asmtpd.yaml:2: timeouts.data: expected a whole number"));
    CHECK(starts_with(only_error("limits:\n  databytes: 10M\n"), "conf/asmtpd.yaml:2: limits.databytes: expected a whole number"));
    CHECK(starts_with(only_error("limits:\n  databytes: 0x100\n"), "conf/asmtpd.yaml:2: limits.databytes: expected a whole number"));
    CHECK(starts_with(only_error("limits:\n  databytes:\n"), "conf/asmtpd.yaml:2: limits.databytes: expected a single value, got nothing"));
    CHECK(starts_with(only_error("spool_dir:\n"), "conf/asmtpd.yaml:1: spool_dir: must not be empty"));
    CHECK(starts_with(only_error("spool_dir: \"\"\n"), "conf/asmtpd.yaml:1: spool_dir: must not be empty"));
    CHECK(starts_with(only_error("[1, 2]\n"), "conf/asmtpd.yaml:1: the file must be a mapping"));
    CHECK(starts_with(only_error("just text\n"), "conf/asmtpd.yaml:1: the file must be a mapping"));
    CHECK(starts_with(only_error("? [a, b]\n: 1\n"), "conf/asmtpd.yaml:1: keys must be plain names"));
}

TEST_CASE("settings: enumerations list their choices") {
    CHECK(only_error("log_level: verbose\n") ==
          "conf/asmtpd.yaml:1: log_level: expected one of error, warn, notice, info, debug, got 'verbose'");
    CHECK(only_error("bare_lf: allow\n") == "conf/asmtpd.yaml:1: bare_lf: expected one of reject, normalize, got 'allow'");
    CHECK(only_error("listen:\n  - mode: lmtp\n") ==
          "conf/asmtpd.yaml:2: listen[0].mode: expected one of smtp, submission, smtps, got 'lmtp'");
    CHECK(starts_with(only_error("tls:\n  cert: c\n  key: k\n  min_version: SSLv3\n"),
                      "conf/asmtpd.yaml:4: tls.min_version: expected one of TLSv1, TLSv1.1, TLSv1.2, TLSv1.3"));
    CHECK(starts_with(only_error("log_level: INFO\n"), "conf/asmtpd.yaml:1: log_level: expected one of"));
}

TEST_CASE("settings: out-of-range numbers") {
    CHECK(only_error("limits:\n  databytes: -5\n") == "conf/asmtpd.yaml:2: limits.databytes: must not be negative, got -5");
    CHECK(only_error("workers: 0\n") == "conf/asmtpd.yaml:1: workers: must be between 1 and 64, got 0");
    CHECK(only_error("workers: 65\n") == "conf/asmtpd.yaml:1: workers: must be between 1 and 64, got 65");
    CHECK(parse("workers: 64\n").errors.empty());
    CHECK(only_error("listen:\n  - port: 0\n") == "conf/asmtpd.yaml:2: listen[0].port: must be between 1 and 65535, got 0");
    CHECK(only_error("listen:\n  - port: 65536\n") == "conf/asmtpd.yaml:2: listen[0].port: must be between 1 and 65535, got 65536");
    CHECK(parse("listen:\n  - port: 65535\n").errors.empty());
    CHECK(parse("listen:\n  - port: 1\n").errors.empty());
    CHECK(starts_with(only_error("listen:\n  - port: 99999999999999999999999\n"),
                      "conf/asmtpd.yaml:2: listen[0].port: out of range"));
    CHECK(starts_with(only_error("limits:\n  line_length: 511\n"), "conf/asmtpd.yaml:2: limits.line_length: must be between 512 and"));
    CHECK(parse("limits:\n  line_length: 512\n").errors.empty());
    CHECK(starts_with(only_error("limits:\n  data_line_length: 999\n"),
                      "conf/asmtpd.yaml:2: limits.data_line_length: must be 0 (no limit) or at least 1000"));
    CHECK(parse("limits:\n  data_line_length: 0\n").errors.empty());
    CHECK(starts_with(only_error("limits:\n  max_rcpts: 0\n"), "conf/asmtpd.yaml:2: limits.max_rcpts: must be between 1"));
    CHECK(starts_with(only_error("limits:\n  max_connections: 0\n"), "conf/asmtpd.yaml:2: limits.max_connections: must be between 1"));
    CHECK(starts_with(only_error("limits:\n  max_connections_per_ip: -1\n"),
                      "conf/asmtpd.yaml:2: limits.max_connections_per_ip: must not be negative"));
    CHECK(starts_with(only_error("limits:\n  max_errors: 0\n"), "conf/asmtpd.yaml:2: limits.max_errors: must be between 1"));
    CHECK(starts_with(only_error("limits:\n  databytes: 0\n"), "conf/asmtpd.yaml:2: limits.databytes: must be between 1"));
    CHECK(starts_with(only_error("limits:\n  memory_spool: -1\n"), "conf/asmtpd.yaml:2: limits.memory_spool: must not be negative"));
    CHECK(starts_with(only_error("limits:\n  max_children: 0\n"), "conf/asmtpd.yaml:2: limits.max_children: must be between 1"));
    CHECK(starts_with(only_error("limits:\n  max_children: many\n"), "conf/asmtpd.yaml:2: limits.max_children:"));
    CHECK(parse("limits:\n  max_children: 1\n").settings.limits.max_children == 1);
    CHECK(starts_with(only_error("timeouts:\n  plugin: 0\n"), "conf/asmtpd.yaml:2: timeouts.plugin: must be between 1"));
    CHECK(starts_with(only_error("timeouts:\n  command: 0\n"), "conf/asmtpd.yaml:2: timeouts.command: must be between 1"));
    CHECK(starts_with(only_error("timeouts:\n  connect: -3\n"), "conf/asmtpd.yaml:2: timeouts.connect: must not be negative"));
    CHECK(starts_with(only_error("timeouts:\n  data: 99999999\n"), "conf/asmtpd.yaml:2: timeouts.data: must be between 1 and"));
    CHECK(parse("timeouts:\n  shutdown: 0\n").errors.empty());
    CHECK(parse("limits:\n  databytes: -0\n").errors.size() == 1);   // -0 is 0, still below 1
}

TEST_CASE("settings: a bad value leaves the default in place") {
    auto r = parse("workers: 0\nlimits:\n  max_rcpts: lots\n  databytes: 100\n");
    CHECK(r.errors.size() == 2);
    CHECK(r.settings.workers == 1);
    CHECK(r.settings.limits.max_rcpts == 100);
    CHECK(r.settings.limits.databytes == 100);   // the good key beside it still counts
}

TEST_CASE("settings: host names, addresses and CIDRs are validated") {
    CHECK(parse("hostname: mx-1.example_corp.org\n").errors.empty());
    CHECK(parse("hostname: \"[192.0.2.1]\"\n").settings.hostname == "[192.0.2.1]");
    CHECK(parse("hostname: \"[IPv6:2001:db8::1]\"\n").errors.empty());
    CHECK(starts_with(only_error("hostname: \"mx example\"\n"), "conf/asmtpd.yaml:1: hostname: invalid character ' '"));
    CHECK(starts_with(only_error("hostname: a..b\n"), "conf/asmtpd.yaml:1: hostname: empty label"));
    CHECK(starts_with(only_error("hostname: \"[300.1.1.1]\"\n"), "conf/asmtpd.yaml:1: hostname: not a valid address literal"));
    CHECK(starts_with(only_error("hostname: \"a\\r\\nb\"\n"), "conf/asmtpd.yaml:1: hostname: control characters"));
    CHECK(starts_with(only_error("hostname: " + std::string(64, 'a') + ".org\n"), "conf/asmtpd.yaml:1: hostname: a host name label"));
    CHECK(starts_with(only_error("greeting: \"hi\\r\\n250 fake\"\n"), "conf/asmtpd.yaml:1: greeting: control characters"));

    CHECK(starts_with(only_error("listen:\n  - address: localhost\n"),
                      "conf/asmtpd.yaml:2: listen[0].address: expected an IP address"));
    CHECK(starts_with(only_error("listen:\n  - address: 1.2.3\n"), "conf/asmtpd.yaml:2: listen[0].address: expected an IP address"));

    auto r = parse("bare_lf_normalize_from:\n  - 127.0.0.0/8\n  - 10.0.0.0/33\n  - nonsense\n  - \"::1\"\n");
    REQUIRE(r.errors.size() == 2);
    CHECK(starts_with(r.errors[0], "conf/asmtpd.yaml:3: bare_lf_normalize_from[1]: not an IP address or network"));
    CHECK(starts_with(r.errors[1], "conf/asmtpd.yaml:4: bare_lf_normalize_from[2]: not an IP address or network"));
    CHECK(r.settings.bare_lf_normalize_from.empty());   // a list with bad entries is not half-applied
    CHECK(starts_with(only_error("trusted_proxies: [10.0.0.0/8, \"\"]\n"), "conf/asmtpd.yaml:1: trusted_proxies[1]: must not be empty"));
}

TEST_CASE("settings: listener checks") {
    CHECK(starts_with(only_error("listen: []\n"), "conf/asmtpd.yaml:1: listen: at least one listener"));
    CHECK(starts_with(only_error("listen:\n"), "conf/asmtpd.yaml:1: listen: at least one listener"));
    CHECK(starts_with(only_error("listen:\n  - port: 25\n  - address: 127.0.0.1\n    port: 25\n"),
                      "conf/asmtpd.yaml:3: listen[1]: 127.0.0.1 port 25 is already listened on (line 2)"));
    // Same port on other addresses, or the same address in another spelling.
    CHECK(parse("listen:\n  - port: 25\n  - address: \"::1\"\n    port: 25\n").errors.empty());
    CHECK(starts_with(only_error("listen:\n  - address: \"::1\"\n    port: 25\n  - address: \"0:0::1\"\n    port: 25\n"),
                      "conf/asmtpd.yaml:4: listen[1]: 0:0::1 port 25 is already listened on"));
    CHECK(starts_with(only_error("listen:\n  - port: 465\n    mode: smtps\n"),
                      "conf/asmtpd.yaml:2: listen[0].mode: smtps needs tls.cert and tls.key"));
    CHECK(parse("listen:\n  - port: 465\n    mode: smtps\ntls:\n  cert: c.pem\n  key: k.pem\n").errors.empty());
    CHECK(starts_with(only_error("listen:\n  - ~\n"), "conf/asmtpd.yaml:2: listen[0]: empty listener"));
}

TEST_CASE("settings: checks across keys") {
    CHECK(starts_with(only_error("limits:\n  line_length: 2048\n  pipeline_bytes: 1024\n"),
                      "conf/asmtpd.yaml:3: limits.pipeline_bytes: must be at least limits.line_length (2048)"));
    CHECK(parse("limits:\n  pipeline_bytes: 1024\n").errors.empty());
    CHECK(starts_with(only_error("tls:\n  cert: /c.pem\n"), "conf/asmtpd.yaml:2: tls: cert and key must be given together"));
    CHECK(starts_with(only_error("tls:\n  key: /k.pem\n"), "conf/asmtpd.yaml:2: tls: cert and key must be given together"));
    CHECK(starts_with(only_error("tls:\n  cert: \"\"\n  key: /k.pem\n"), "conf/asmtpd.yaml:2: tls.cert: must not be empty"));
}

TEST_CASE("settings: duplicate keys") {
    CHECK(only_error("workers: 2\nworkers: 3\n") == "conf/asmtpd.yaml:2: workers: duplicate key");
    CHECK(only_error("limits:\n  max_rcpts: 2\n  max_rcpts: 3\n") == "conf/asmtpd.yaml:3: limits.max_rcpts: duplicate key");
    auto r = parse("workers: 2\nworkers: 3\n");
    CHECK(r.settings.workers == 2);   // the first one counts
}

TEST_CASE("settings: syntax errors give one error with the line") {
    auto e = only_error("hostname: a.example\nlimits:\n  max_rcpts: [1, 2\nworkers: 2\n");
    CHECK(starts_with(e, "conf/asmtpd.yaml:"));
    CHECK(e.find("syntax error") != std::string::npos);
    e = only_error("a: 1\n b: 2\n");
    CHECK(starts_with(e, "conf/asmtpd.yaml:2: syntax error: "));
    e = only_error("\thostname: x\n");
    CHECK(starts_with(e, "conf/asmtpd.yaml:1: syntax error: "));
    e = only_error("workers: *nope\n");
    CHECK(starts_with(e, "conf/asmtpd.yaml:1: syntax error: "));
    // After a syntax error the defaults are returned.
    auto r = parse("workers: 3\nlimits: {\n");
    CHECK(r.settings.workers == 1);
    // Deep nesting is a syntax error, not a crash.
    auto deep = parse("a: " + std::string(5000, '[') + "\n");
    CHECK(deep.errors.size() == 1);
}

TEST_CASE("settings: every problem of a file is reported at once") {
    auto r = parse(
        "hostname: mx.example\n"          // 1
        "workers: many\n"                 // 2 wrong type
        "limits:\n"                       // 3
        "  databytes: -5\n"               // 4 negative
        "  no_such_limit: 1\n"            // 5 unknown
        "listen:\n"                       // 6
        "  - port: 70000\n"               // 7 out of range
        "    mode: smtpx\n"               // 8 bad choice
        "frobnicate: yes\n"               // 9 unknown
        "log_level: loud\n"               // 10 bad choice
        "bare_lf_normalize_from: [x]\n"   // 11 bad CIDR
        "timeouts:\n"                     // 12
        "  plugin: 0\n");                 // 13 out of range
    std::vector<int> lines;
    for (const auto& e : r.errors) {
        REQUIRE(starts_with(e, "conf/asmtpd.yaml:"));
        lines.push_back(std::atoi(e.c_str() + kFile.size() + 1));
    }
    CHECK(lines == std::vector<int>{2, 4, 5, 7, 8, 9, 10, 11, 13});
}

TEST_CASE("load_settings: missing file gives defaults, no error") {
    TempDir d;
    auto r = load_settings(d.path);
    CHECK(r.errors.empty());
    CHECK(r.settings.workers == 1);
    CHECK(r.settings.hostname == machine_hostname());
    auto none = load_settings(d.path + "/does/not/exist");
    CHECK(none.errors.empty());
}

TEST_CASE("load_settings: reads DIR/asmtpd.yaml and names it in errors") {
    TempDir d;
    std::ofstream(d.path + "/asmtpd.yaml") << "workers: 2\nlimits:\n  nope: 1\n";
    auto r = load_settings(d.path);
    CHECK(r.settings.workers == 2);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0] == d.path + "/asmtpd.yaml:3: limits.nope: unknown key (known: max_connections, "
                                  "max_connections_per_ip, max_rcpts, databytes, max_errors, line_length, "
                                  "data_line_length, pipeline_bytes, memory_spool, max_children, auth_failures_per_ip, "
                                   "header_bytes, header_lines, data_min_rate, min_free_space)");
}

TEST_CASE("load_settings: an unreadable path is an error") {
    TempDir d;
    fs::create_directory(d.path + "/asmtpd.yaml");
    auto r = load_settings(d.path);
    REQUIRE(r.errors.size() == 1);
    CHECK(r.errors[0].find("asmtpd.yaml:0: cannot read") != std::string::npos);
}

TEST_CASE("load_settings: the shipped config/asmtpd.yaml parses cleanly with its documented defaults") {
    // CMake gives every test binary the source tree's path: the test reads that copy, and a
    // missing file is a failure, never a skip.
    const std::string dir = std::string(ASMTPD_SOURCE_DIR) + "/config";
    REQUIRE_MESSAGE(fs::exists(fs::path(dir) / "asmtpd.yaml"), dir << "/asmtpd.yaml not found");
    std::vector<std::string> plugin_keys;   // as load_runtime collects them from the catalog
    for (const auto& e : asmtpd::plugins::builtin_plugins())
        if (e.settings_key) plugin_keys.emplace_back(e.settings_key);
    auto r = load_settings(dir, plugin_keys);
    for (const auto& e : r.errors) MESSAGE(e);
    CHECK(r.errors.empty());
    CHECK(r.settings.plugin_sections.count("spp_programs") == 1);   // the shipped example
    Settings defaults;
    CHECK(r.settings.limits.max_rcpts == defaults.limits.max_rcpts);
    CHECK(r.settings.limits.databytes == defaults.limits.databytes);
    CHECK(r.settings.timeouts.data == defaults.timeouts.data);
    CHECK(r.settings.workers == defaults.workers);
}

TEST_CASE("machine_hostname: non-empty and usable in a reply") {
    auto h = machine_hostname();
    CHECK_FALSE(h.empty());
    CHECK(h.find_first_of(" \r\n\t") == std::string::npos);
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
