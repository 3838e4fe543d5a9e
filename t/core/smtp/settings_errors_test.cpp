// settings_errors_test.cpp - tests the errors of core/smtp/settings.cpp (and the yaml_reader it
// uses): every kind of error with its file:line and key path, what a bad value leaves in place,
// checks across keys, syntax errors, and all problems of a file reported at once.
#include "core/smtp/settings.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "t/core/smtp/settings_parse.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::smtp;
using namespace asmtpd::smtp::settings_parse;

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

}  // namespace ASMTPD_TEST_UNIT
