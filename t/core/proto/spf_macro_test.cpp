// spf_macro_test.cpp - tests core/proto/spf_macro.cpp against RFC 7208 §7 (its examples in
// §7.4 are reproduced literally) and the syntax rules of §7.1.
#include "core/proto/spf_macro.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto::spf;

namespace {

// The §7.4 example context: sender strong-bad@email.example.com, client 192.0.2.3.
MacroValues rfc_example() {
    MacroValues v;
    v.sender = "strong-bad@email.example.com";
    v.local_part = "strong-bad";
    v.sender_domain = "email.example.com";
    v.domain = "email.example.com";
    v.ip_dotted = "192.0.2.3";
    v.ip_readable = "192.0.2.3";
    v.helo = "mx.example.org";
    v.validated = "mx.example.org";
    v.receiver = "mybox.example.org";
    v.timestamp = "1234567890";
    return v;
}

std::string ex(std::string_view text, MacroUse use = MacroUse::DomainSpec, MacroValues v = rfc_example()) {
    auto r = expand_macros(text, use, v);
    REQUIRE(r);
    return *r;
}

}  // namespace

TEST_CASE("§7.4 examples: IPv4 client") {
    CHECK(ex("%{s}", MacroUse::Modifier) == "strong-bad@email.example.com");
    CHECK(ex("%{o}") == "email.example.com");
    CHECK(ex("%{d}") == "email.example.com");
    CHECK(ex("%{d4}") == "email.example.com");
    CHECK(ex("%{d3}") == "email.example.com");
    CHECK(ex("%{d2}") == "example.com");
    CHECK(ex("%{d1}") == "com");
    CHECK(ex("%{dr}") == "com.example.email");
    CHECK(ex("%{d2r}") == "example.email");
    CHECK(ex("%{l}", MacroUse::Modifier) == "strong-bad");
    CHECK(ex("%{l-}", MacroUse::Modifier) == "strong.bad");
    CHECK(ex("%{lr}", MacroUse::Modifier) == "strong-bad");
    CHECK(ex("%{lr-}", MacroUse::Modifier) == "bad.strong");
    CHECK(ex("%{l1r-}", MacroUse::Modifier) == "strong");
    CHECK(ex("%{ir}.%{v}._spf.%{d2}") == "3.2.0.192.in-addr._spf.example.com");
    CHECK(ex("%{lr-}.lp._spf.%{d2}") == "bad.strong.lp._spf.example.com");
    CHECK(ex("%{lr-}.lp.%{ir}.%{v}._spf.%{d2}") == "bad.strong.lp.3.2.0.192.in-addr._spf.example.com");
    CHECK(ex("%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}") == "3.2.0.192.in-addr.strong.lp._spf.example.com");
    CHECK(ex("%{d2}.trusted-domains.example.net") == "example.com.trusted-domains.example.net");
}

TEST_CASE("§7.4 examples: IPv6 client, %{i} as dot-separated nibbles") {
    MacroValues v = rfc_example();
    v.ip_dotted = dotted_ip("2001:db8::cb01");
    v.ipv6 = true;
    CHECK(ex("%{ir}.%{v}._spf.%{d2}", MacroUse::DomainSpec, v) ==
          "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com");
    CHECK(dotted_ip("192.0.2.3") == "192.0.2.3");
    CHECK(dotted_ip("::ffff:192.0.2.3") == "192.0.2.3");
}

TEST_CASE("§7.3 uppercase letters are URL-escaped; %%, %_ and %- are literals") {
    MacroValues v = rfc_example();
    v.local_part = "john doe/x";
    CHECK(ex("%{L}", MacroUse::Modifier, v) == "john%20doe%2Fx");
    CHECK(ex("%{l}", MacroUse::Modifier, v) == "john doe/x");
    CHECK(ex("%{S}", MacroUse::Modifier) == "strong-bad%40email.example.com");
    CHECK(ex("a%%b%_c%-d", MacroUse::Modifier) == "a%b c%20d");
    CHECK(ex("%{D}") == "email.example.com");   // only unreserved characters: unchanged
}

TEST_CASE("§7.3 transformers: digits larger than the parts, several delimiters") {
    CHECK(ex("%{d99}") == "email.example.com");
    CHECK(ex("%{d1000000}") == "email.example.com");
    MacroValues v = rfc_example();
    v.local_part = "a-b+c=d";
    CHECK(ex("%{l-+=}", MacroUse::Modifier, v) == "a.b.c.d");
    CHECK(ex("%{l2r-+=}", MacroUse::Modifier, v) == "b.a");
    CHECK(ex("%{lr}", MacroUse::Modifier, v) == "a-b+c=d");   // only "." splits by default
}

TEST_CASE("§7.2 c, r, t exist only in explanation strings") {
    CHECK(ex("%{c} %{r} %{t} %{p}", MacroUse::Explanation) == "192.0.2.3 mybox.example.org 1234567890 mx.example.org");
    CHECK(macro_syntax_error("%{c}.example.com", MacroUse::DomainSpec));
    CHECK(macro_syntax_error("%{r}.example.com", MacroUse::DomainSpec));
    CHECK(macro_syntax_error("%{t}", MacroUse::Modifier));
    MacroValues v = rfc_example();
    v.ip_readable = "2001:db8::cb01";
    CHECK(ex("%{c}", MacroUse::Explanation, v) == "2001:db8::cb01");
    CHECK(ex("%{v}", MacroUse::Explanation) == "in-addr");
}

TEST_CASE("§7.3 %{p} without a validated name is 'unknown'") {
    MacroValues v = rfc_example();
    v.validated.clear();
    CHECK(ex("%{p}.example.com", MacroUse::DomainSpec, v) == "unknown.example.com");
    CHECK(uses_validated_name("x.%{p2}.example.com"));
    CHECK(uses_validated_name("%{P}"));
    CHECK_FALSE(uses_validated_name("%{d}.example.com"));
}

TEST_CASE("§7.1 syntax errors") {
    for (const char* bad : {"%", "%{", "%{d", "%{}", "%{x}", "%{d0}", "%{d2x}", "%{dr r}", "%a", "100%.com",
                            "%{d}.%{", "ex ample.com"}) {
        CAPTURE(std::string(bad));
        CHECK(macro_syntax_error(bad, MacroUse::DomainSpec));
        CHECK_FALSE(expand_macros(bad, MacroUse::DomainSpec, rfc_example()));
    }
    CHECK(macro_syntax_error("caf\xc3\xa9.example.com", MacroUse::DomainSpec));
    CHECK(macro_syntax_error("text\twith tab", MacroUse::Explanation));
    CHECK_FALSE(macro_syntax_error("text with %{d} spaces", MacroUse::Explanation));
}

TEST_CASE("§7.1 domain-spec must end in a toplabel or a macro") {
    for (const char* good : {"example.com", "example.com.", "%{d}", "foo.%{d2}", "_spf.example.com", "%{d}.",
                             "mail.ex-ample.c0m", "x.xn--p1ai", "%{ir}.%{v}._spf.%{d2}"}) {
        CAPTURE(std::string(good));
        CHECK_FALSE(macro_syntax_error(good, MacroUse::DomainSpec));
    }
    for (const char* bad : {"", "example", "example.123", "example.com:8080", "example.-com", "example.com-",
                            "example..", ".", "foo.%{d}x1"}) {
        CAPTURE(std::string(bad));
        CHECK(macro_syntax_error(bad, MacroUse::DomainSpec));
    }
}

TEST_CASE("§7.3 expanded domain names: trailing dot dropped, over 253 octets truncated on the left") {
    CHECK(ex("example.com.") == "example.com");
    MacroValues v = rfc_example();
    v.local_part = std::string(60, 'a') + "." + std::string(60, 'b') + "." + std::string(60, 'c') + "." +
                   std::string(60, 'd') + "." + std::string(60, 'e');
    std::string out = ex("%{l}.example.com", MacroUse::DomainSpec, v);
    CHECK(out.size() <= 253);
    CHECK(out == std::string(60, 'c') + "." + std::string(60, 'd') + "." + std::string(60, 'e') + ".example.com");
}

}  // namespace ASMTPD_TEST_UNIT
