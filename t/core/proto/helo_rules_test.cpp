// helo_rules_test.cpp - tests core/proto/helo_rules.cpp: policies, badhelo, literals, near matches.
#include <doctest/doctest.h>

#include "core/proto/helo_rules.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

namespace {
HeloFacts outside(std::string_view host) {
    HeloFacts f;
    f.host = host;
    f.remote_ip = "192.0.2.7";
    f.me = "mx.example.org";
    f.my_ips = {"198.51.100.1"};
    return f;
}
std::string log_of(HeloPolicy p, const HeloFacts& f, const BadHelo& b = {}) {
    auto r = helo_static_check(p, f, b);
    return r ? r->log : "pass";
}
}  // namespace

TEST_CASE("helo_policy_from_string") {
    CHECK(helo_policy_from_string("lenient") == HeloPolicy::lenient);
    CHECK(helo_policy_from_string("rfc") == HeloPolicy::rfc);
    CHECK(helo_policy_from_string("strict") == HeloPolicy::strict);
    CHECK_FALSE(helo_policy_from_string("Strict"));
}

TEST_CASE("badhelo: names, patterns, negated patterns, bad patterns") {
    std::vector<std::string> bad;
    auto b = BadHelo::parse({"yahoo.com", "^dsl-[0-9]+\\.", "!\\.", "(unclosed"}, &bad);
    CHECK(bad == std::vector<std::string>{"(unclosed"});
    auto hit = b.check("YAHOO.com");
    REQUIRE(hit);
    CHECK(hit->reply == "I do not believe you are YAHOO.com.");
    CHECK(b.check("dsl-1234.isp.example")->log == "badhelo pattern match (^dsl-[0-9]+\\.)");
    CHECK(b.check("nodots")->log == "badhelo pattern match (!\\.)");   // negated: must contain a dot
    CHECK_FALSE(b.check("mail.example.net"));
}

TEST_CASE("lenient: localhost, self, forged literal, plain IP") {
    CHECK(log_of(HeloPolicy::lenient, outside("localhost")) == "invalid localhost");
    auto local = outside("localhost");
    local.remote_is_local = true;
    CHECK(log_of(HeloPolicy::lenient, local) == "pass");
    CHECK(log_of(HeloPolicy::lenient, outside("MX.example.org")) == "our own name or address from outside");
    CHECK(log_of(HeloPolicy::lenient, outside("[198.51.100.1]")) == "our own name or address from outside");
    CHECK(log_of(HeloPolicy::lenient, outside("[192.0.2.8]")) == "forged IP literal");
    CHECK(log_of(HeloPolicy::lenient, outside("[192.0.2.7]")) == "pass");
    CHECK(log_of(HeloPolicy::lenient, outside("192.0.2.7")) == "plain IP");
    CHECK(log_of(HeloPolicy::lenient, outside("nodots")) == "pass");
    CHECK(log_of(HeloPolicy::lenient, outside("bad_char.example")) == "pass");
}

TEST_CASE("IPv6 literals need the IPv6: tag and must match the client") {
    auto f = outside("[IPv6:2001:db8::7]");
    f.remote_ip = "2001:db8::7";
    CHECK(log_of(HeloPolicy::lenient, f) == "pass");
    f.host = "[IPv6:2001:db8::8]";
    CHECK(log_of(HeloPolicy::lenient, f) == "forged IP literal");
    CHECK(helo_address_literal("[IPv6:2001:DB8::1]") == "2001:DB8::1");
    CHECK_FALSE(helo_address_literal("[2001:db8::1]"));
    CHECK_FALSE(helo_address_literal("[IPv6:1.2.3.4]"));
    CHECK(helo_address_literal("[1.2.3.4]") == "1.2.3.4");
    CHECK_FALSE(helo_address_literal("[1.2.3]"));
}

TEST_CASE("rfc adds FQDN checks; strict refuses every literal") {
    CHECK(log_of(HeloPolicy::rfc, outside("nodots")) == "not FQDN");
    CHECK(log_of(HeloPolicy::rfc, outside("bad_char.example")) == "invalid FQDN chars");
    CHECK(log_of(HeloPolicy::rfc, outside("[192.0.2.7]")) == "pass");
    CHECK(log_of(HeloPolicy::rfc, outside("mail.example.net")) == "pass");
    CHECK(log_of(HeloPolicy::strict, outside("[192.0.2.7]")) == "bracketed IP");
    CHECK(log_of(HeloPolicy::strict, outside("mail.example.net")) == "pass");
}

TEST_CASE("helo_is_name") {
    CHECK(helo_is_name("mail.example.net"));
    CHECK_FALSE(helo_is_name("[192.0.2.1]"));
    CHECK_FALSE(helo_is_name("192.0.2.1"));
    CHECK_FALSE(helo_is_name("[junk"));
    CHECK_FALSE(helo_is_name(""));
}

TEST_CASE("near matches: /24, /96, last two labels") {
    CHECK(helo_ip_near("192.0.2.1", "192.0.2.200"));
    CHECK_FALSE(helo_ip_near("192.0.3.1", "192.0.2.1"));
    CHECK(helo_ip_near("2001:db8::1", "2001:db8::1:2"));
    CHECK_FALSE(helo_ip_near("2001:db8:1::1", "2001:db8::1"));
    CHECK_FALSE(helo_ip_near("192.0.2.1", "::1"));
    CHECK(helo_name_near("mx0.example.com.", "MX0.example.com"));
    CHECK(helo_name_near("mx0.example.com", "mx1.example.com"));
    CHECK_FALSE(helo_name_near("mx0.example.com", "mx0.example.net"));
    CHECK_FALSE(helo_name_near("localhost", "localhost"));
}

}  // namespace ASMTPD_TEST_UNIT
