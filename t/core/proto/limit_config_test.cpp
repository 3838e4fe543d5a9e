// limit_config_test.cpp - tests core/proto/limit_config.cpp: Haraka's LIMIT/PERIOD values, the
// lookups (address prefixes, names, default, karma history), the plugin arguments and the
// asmtpd.yaml `limit:` section with its errors.
#include "core/proto/limit_config.hpp"

#include <doctest/doctest.h>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

namespace {

SettingNode scalar(std::string v, std::string path, int line = 1) {
    SettingNode n;
    n.kind = SettingNode::Kind::Scalar;
    n.scalar = std::move(v);
    n.file = "asmtpd.yaml";
    n.line = line;
    n.path = std::move(path);
    return n;
}

SettingNode map(std::string path, std::vector<std::pair<std::string, SettingNode>> entries, int line = 1) {
    SettingNode n;
    n.kind = SettingNode::Kind::Map;
    n.entries = std::move(entries);
    n.file = "asmtpd.yaml";
    n.line = line;
    n.path = std::move(path);
    return n;
}

}  // namespace

TEST_CASE("limit rate: Haraka's LIMIT[/PERIOD[UNIT]]") {
    CHECK(parse_limit_rate("5") == LimitRate{5, 60000});
    CHECK(parse_limit_rate("0") == LimitRate{0, 60000});
    CHECK(parse_limit_rate("5/30") == LimitRate{5, 30000});
    CHECK(parse_limit_rate("5/30s") == LimitRate{5, 30000});
    CHECK(parse_limit_rate("50/5m") == LimitRate{50, 300000});
    CHECK(parse_limit_rate("1/15M") == LimitRate{1, 900000});
    CHECK(parse_limit_rate("3/2h") == LimitRate{3, 7200000});
    CHECK(parse_limit_rate("500/1d") == LimitRate{500, 86400000});
    CHECK(parse_limit_rate("2/366d") == LimitRate{2, 366ull * 86400000});
    for (const char* bad : {"", "/5m", "5/", "5/m", "5/0", "5/0s", "-1", "5 /5m", "5/5m ", "5/5x", "5/5mm",
                            "a/5m", "5/367d", "5/99999999999999999999", "1000000001", "5.5", "5/1.5m"})
        CHECK_MESSAGE(!parse_limit_rate(bad), bad);
}

TEST_CASE("limit lookups: hosts by address prefix, then name, then history, then default") {
    LimitSection s;
    s.entries["192.0.2"] = {10, 60000};
    s.entries["127"] = {0, 60000};
    s.entries["example.net"] = {7, 60000};
    s.entries["2001:db8:0:1"] = {4, 60000};
    s.dflt = LimitRate{3, 60000};

    auto m = s.for_host("192.0.2.7", "", std::nullopt);
    REQUIRE(m);
    CHECK(m->key == "192.0.2");   // the /24 shares one counter
    CHECK(m->rate.limit == 10);
    m = s.for_host("::ffff:192.0.2.9", "", std::nullopt);
    REQUIRE(m);
    CHECK(m->key == "192.0.2");
    m = s.for_host("127.0.0.1", "", std::nullopt);
    REQUIRE(m);
    CHECK(m->rate.limit == 0);    // 127=0: no limit
    m = s.for_host("198.51.100.1", "mx.Mail.EXAMPLE.net", std::nullopt);
    REQUIRE(m);
    CHECK(m->key == "example.net");
    CHECK(m->rate.limit == 7);
    m = s.for_host("2001:db8:0:1::25", "", std::nullopt);
    REQUIRE(m);
    CHECK(m->key == "2001:db8:0:1");
    m = s.for_host("198.51.100.1", "other.test", std::nullopt);
    REQUIRE(m);
    CHECK(m->key == "198.51.100.1");   // default: per address
    CHECK(m->rate.limit == 3);

    s.history.enabled = true;
    s.history.good = LimitRate{30, 60000};
    s.history.bad = LimitRate{1, 60000};
    CHECK(s.for_host("198.51.100.1", "", 5)->rate.limit == 30);
    CHECK(s.for_host("198.51.100.1", "", -2)->rate.limit == 1);
    CHECK(s.for_host("198.51.100.1", "", 0)->rate.limit == 3);   // no `none`: the default
    CHECK(s.for_host("192.0.2.1", "", -2)->rate.limit == 10);    // an entry beats history

    LimitSection empty;
    CHECK(!empty.for_host("192.0.2.1", "x.test", std::nullopt));
}

TEST_CASE("limit lookups: addresses, then domains, then default") {
    LimitSection s;
    s.entries["boss@example.com"] = {100, 60000};
    s.entries["example.com"] = {20, 60000};
    s.dflt = LimitRate{5, 300000};
    CHECK(s.for_address("Boss@Example.com")->key == "boss@example.com");
    CHECK(s.for_address("joe@mail.example.com")->key == "example.com");
    auto m = s.for_address("joe@other.test");
    REQUIRE(m);
    CHECK(m->key == "joe@other.test");
    CHECK(m->rate == LimitRate{5, 300000});
    CHECK(s.for_address("")->key == "<>");
    s.dflt.reset();
    CHECK(!s.for_address("joe@other.test"));
}

TEST_CASE("limit: IPv6 addresses in Haraka's full form") {
    CHECK(limit_normalized_ip("2001:db8::1") == "2001:db8:0:0:0:0:0:1");
    CHECK(limit_normalized_ip("::1") == "0:0:0:0:0:0:0:1");
    CHECK(limit_normalized_ip("::ffff:10.1.2.3") == "10.1.2.3");
    CHECK(limit_normalized_ip("10.1.2.3") == "10.1.2.3");
    CHECK(limit_normalized_ip("not an address") == "not an address");
}

TEST_CASE("limit arguments") {
    LimitConfig c;
    REQUIRE(!parse_limit_args({"concurrency", "3", "rate_conn", "5/2s", "recipients", "20", "errors", "4",
                               "on_error", "defer", "timeout", "0.5", "tarpit_delay", "1"},
                              c));
    CHECK(c.concurrency.enabled);
    CHECK(c.concurrency.dflt->limit == 3);
    CHECK(c.rate_conn.dflt == LimitRate{5, 2000});
    CHECK(c.recipients.dflt->limit == 20);
    CHECK(c.errors.enabled);
    CHECK(!c.messages.enabled);
    CHECK(c.fail_defer);
    CHECK(c.timeout_ms == 500);
    CHECK(c.tarpit_delay_ms == 1000);
    CHECK(c.needs_store());

    LimitConfig d;
    CHECK(!parse_limit_args({"recipients", "2"}, d));
    CHECK(!d.needs_store());
    CHECK(parse_limit_args({"concurrency"}, d)->find("no value") != std::string::npos);
    CHECK(parse_limit_args({"rate_conn", "5/5x"}, d)->find("rate_conn: expected") == 0);
    CHECK(parse_limit_args({"recipients", "5/5m"}, d)->find("recipients: expected a whole number") == 0);
    CHECK(parse_limit_args({"on_error", "maybe"}, d));
    CHECK(parse_limit_args({"timeout", "0"}, d));
    CHECK(parse_limit_args({"colour", "blue"}, d)->find("unknown argument 'colour'") == 0);
}

TEST_CASE("limit settings: asmtpd.yaml `limit:` over the arguments") {
    LimitConfig c;
    REQUIRE(!parse_limit_args({"rate_conn", "5"}, c));
    auto section = map("limit", {
        {"tarpit_delay", scalar("2", "limit.tarpit_delay")},
        {"concurrency", map("limit.concurrency", {{"max", scalar("3", "limit.concurrency.max")},
                                                  {"ttl", scalar("60", "limit.concurrency.ttl")},
                                                  {"192.0.2", scalar("10", "limit.concurrency.192.0.2")}})},
        {"concurrency_history", map("limit.concurrency_history", {{"plugin", scalar("karma", "p")},
                                                                  {"good", scalar("10", "g")},
                                                                  {"bad", scalar("1", "b")}})},
        {"rate_conn", map("limit.rate_conn", {{"127", scalar("0", "limit.rate_conn.127")}})},
        {"rate_rcpt_sender", map("limit.rate_rcpt_sender", {{"default", scalar("50/5m", "d")},
                                                            {"Example.COM", scalar("100/1h", "e")}})},
        {"recipients", map("limit.recipients", {{"max", scalar("20", "m")}, {"max_relaying", scalar("100", "r")}})},
        {"errors", map("limit.errors", {{"enabled", scalar("false", "e")}, {"max", scalar("10", "m")}})},
        {"messages", SettingNode{}},
    });
    REQUIRE(!parse_limit_settings(section, c));
    CHECK(c.tarpit_delay_ms == 2000);
    CHECK(c.concurrency.enabled);
    CHECK(c.concurrency.dflt->limit == 3);
    CHECK(c.concurrency.ttl_ms == 60000);
    CHECK(c.concurrency.entries.at("192.0.2").limit == 10);
    CHECK(c.concurrency.history.enabled);
    CHECK(c.concurrency.history.good->limit == 10);
    CHECK(c.rate_conn.dflt->limit == 5);   // the argument's default stays
    CHECK(c.rate_conn.entries.at("127").limit == 0);
    CHECK(c.rate_rcpt_sender.entries.at("example.com") == LimitRate{100, 3600000});
    CHECK(c.recipients.max_relaying == 100);
    CHECK(!c.errors.enabled);
    CHECK(c.messages.enabled);
    CHECK(!c.messages.dflt);
}

TEST_CASE("limit settings: errors name the value's place") {
    auto err = [](SettingNode section) {
        LimitConfig c;
        auto e = parse_limit_settings(section, c);
        return e.value_or("");
    };
    CHECK(err(map("limit", {{"rate_conn", map("limit.rate_conn", {{"default", scalar("5/5x", "limit.rate_conn.default", 7)}})}})) ==
          "asmtpd.yaml:7: limit.rate_conn.default: expected LIMIT[/PERIOD[s|m|h|d]] (e.g. 5/5m), got '5/5x'");
    CHECK(err(map("limit", {{"colour", scalar("blue", "limit.colour", 3)}})).find("asmtpd.yaml:3: limit.colour: unknown key") == 0);
    CHECK(err(map("limit", {{"errors", map("limit.errors", {{"default", scalar("3", "limit.errors.default", 4)}})}}))
              .find("asmtpd.yaml:4: limit.errors.default: unknown key (known: enabled, max)") == 0);
    CHECK(err(map("limit", {{"recipients", map("limit.recipients", {{"max", scalar("x", "limit.recipients.max", 5)}})}}))
              .find("asmtpd.yaml:5: limit.recipients.max: expected a whole number") == 0);
    CHECK(err(map("limit", {{"concurrency", map("limit.concurrency", {{"enabled", scalar("perhaps", "limit.concurrency.enabled", 6)}})}}))
              .find("expected true or false") != std::string::npos);
    CHECK(err(map("limit", {{"rate_rcpt_history", map("limit.rate_rcpt_history", {}, 8)}}))
              .find("asmtpd.yaml:8: limit.rate_rcpt_history: unknown key") == 0);
    CHECK(err(map("limit", {{"on_error", scalar("maybe", "limit.on_error", 9)}})) ==
          "asmtpd.yaml:9: limit.on_error: expected accept or defer, got 'maybe'");
    CHECK(err(scalar("x", "limit", 2)) == "asmtpd.yaml:2: limit: expected a mapping, got 'x'");
}

}  // namespace ASMTPD_TEST_UNIT
