// address_test.cpp - tests core/proto/address.cpp: the anchored RFC 5321 path grammar, the
// exact error replies, limits, SMTPUTF8, and the format()/parse_path() round trip.
// Cases are seeded from Postfix's smtpd_token.in and qpsmtpd's t/qpsmtpd-address.t.
#include "core/proto/address.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

namespace {

const AddressRules kMail = sender_rules();
const AddressRules kRcpt = recipient_rules();
const AddressRules kMailUtf8 = sender_rules(true);

struct Good {
    std::string in, local, domain;
};

std::string nul(const char* a, const char* b) { return std::string(a) + '\0' + b; }

void check_error(std::string_view in, const AddressRules& rules, int code, const char* esc) {
    CAPTURE(in);
    auto r = parse_path(in, rules);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == code);
    CHECK(r.error().esc == esc);
}

}  // namespace

TEST_CASE("parse_path: valid paths") {
    const std::vector<Good> good = {
        {"<a@b>", "a", "b"},
        {"<user@example.com>", "user", "example.com"},
        {"<User.Name+tag@Example.COM>", "User.Name+tag", "Example.COM"},
        {"<!#$%&'*+-/=?^_`{|}~@x.y>", "!#$%&'*+-/=?^_`{|}~", "x.y"},
        {"<a.b.c@d-e.f-g.h>", "a.b.c", "d-e.f-g.h"},
        {"<a@1.2.3.4>", "a", "1.2.3.4"},           // digits are valid sub-domains
        {"<a@xn--bcher-kva.example>", "a", "xn--bcher-kva.example"},
        {"<\"quoted user\"@x.org>", "quoted user", "x.org"},
        {"<\"a@b\"@c>", "a@b", "c"},
        {"<\"a>b\"@c>", "a>b", "c"},
        {"<\"\"@x>", "", "x"},                    // empty quoted local part is legal
        {"<\"\\\"\\\\\"@x>", "\"\\", "x"},        // quoted pairs unescaped
        {"<\"\\a\"@x>", "a", "x"},
        {"<\"a..b\"@x>", "a..b", "x"},
        {"<\".a\"@x>", ".a", "x"},
        {"<@route.example:user@x.org>", "user", "x.org"},              // source route dropped
        {"<@r1.example,@r2.example:user@x.org>", "user", "x.org"},
        {"<a@[192.0.2.1]>", "a", "[192.0.2.1]"},
        {"<a@[0.0.0.0]>", "a", "[0.0.0.0]"},
        {"<a@[255.255.255.255]>", "a", "[255.255.255.255]"},
        {"<a@[IPv6:2001:db8::1]>", "a", "[IPv6:2001:db8::1]"},
        {"<a@[ipv6:::1]>", "a", "[ipv6:::1]"},
        {"<a@[IPv6:::]>", "a", "[IPv6:::]"},
        {"<a@[IPv6:1:2:3:4:5:6:7:8]>", "a", "[IPv6:1:2:3:4:5:6:7:8]"},
        {"<a@[IPv6:1:2:3:4:5:6:1.2.3.4]>", "a", "[IPv6:1:2:3:4:5:6:1.2.3.4]"},
        {"<a@[IPv6:::ffff:192.0.2.1]>", "a", "[IPv6:::ffff:192.0.2.1]"},
        {"<a@[IPv6:1::]>", "a", "[IPv6:1::]"},
        {"<a@[IPv6:1:2:3:4:5:6:7::]>", "a", "[IPv6:1:2:3:4:5:6:7::]"},
        {"<a@[x-tag:some-content]>", "a", "[x-tag:some-content]"},
        {"<" + std::string(64, 'l') + "@x>", std::string(64, 'l'), "x"},
        {"<a@" + std::string(63, 'd') + ".com>", "a", std::string(63, 'd') + ".com"},
    };
    for (const auto& g : good) {
        for (const auto* rules : {&kMail, &kRcpt}) {
            CAPTURE(g.in);
            auto r = parse_path(g.in, *rules);
            REQUIRE(r.ok());
            CHECK(r->local == g.local);
            CHECK(r->domain == g.domain);
            CHECK_FALSE(r->is_null());
            // round trip through the canonical form
            auto again = parse_path(r->format(), *rules);
            REQUIRE(again.ok());
            CHECK(*again == *r);
        }
    }
}

TEST_CASE("parse_path: null path and postmaster") {
    auto n = parse_path("<>", kMail);
    REQUIRE(n.ok());
    CHECK(n->is_null());
    CHECK(n->format() == "<>");
    CHECK(n->bare() == "");
    check_error("<>", kRcpt, 501, "5.1.3");

    for (const char* pm : {"<postmaster>", "<Postmaster>", "<POSTMASTER>", "<PostMaster>"}) {
        auto p = parse_path(pm, kRcpt);
        REQUIRE(p.ok());
        CHECK(p->local == "postmaster");
        CHECK(p->domain == "");
        CHECK_FALSE(p->is_null());
        CHECK(p->format() == "<postmaster>");
        CHECK(p->bare() == "postmaster");
        check_error(pm, kMail, 501, "5.1.7");   // not for MAIL
    }
    check_error("<postmaster >", kRcpt, 501, "5.1.3");
    check_error("<postmasterx>", kRcpt, 501, "5.1.3");
    check_error("<abuse>", kRcpt, 501, "5.1.3");
    CHECK(parse_path("<postmaster@x>", kRcpt)->domain == "x");
}

TEST_CASE("parse_path: syntax errors (anchored grammar)") {
    const std::vector<std::string> bad = {
        "", "<", ">", "a@b", "<a@b", "a@b>", " <a@b>", "<a@b> ", "<<a@b>>", "<a@b>>",
        "<a>", "<@>", "<a@>", "<@b>", "<a@@b>", "<a@b@c>",
        "<foo bar@x>", "< a@b>", "<a@b >", "<a @b>", "<a@ b>",
        "<.a@b>", "<a.@b>", "<a..b@c>", "<a@.b>", "<a@b.>", "<a@b..c>", "<a@-b>", "<a@b->",
        "<a@b_c>", "<a@b,c>", "<a(comment)@b>", "<a@b(c)>", "<a,b@c>", "<a:b@c>", "<a;b@c>",
        "<a[b]@c>", "<a\\b@c>", "<a\"b\"@c>", "<\"a\"b@c>", "<\"a@b>", "<\"a\\\"@b>",
        "<\"a\"\"b\"@c>", "<\"a\".b@c>",
        "<@:a@b>", "<@x a@b>", "<@x,a@b>", "<@x:>", "<@x:@y>", "<@x;a@b>", "<@x,:a@b>",
        "<@[1.2.3.4]:a@b>", "<@x:@y:a@b>",
        "<a@[1.2.3]>", "<a@[1.2.3.4.5]>", "<a@[256.1.1.1]>", "<a@[1.2.3.1000]>",
        "<a@[1..3.4]>", "<a@[1.2.3.4.]>", "<a@[]>", "<a@[ 1.2.3.4]>", "<a@[1.2.3.4]x>",
        "<a@x[1.2.3.4]>", "<a@[1.2.3.4>", "<a@1.2.3.4]>", "<a@[[1.2.3.4]]>",
        "<a@[IPv6:]>", "<a@[IPv6:1]>", "<a@[IPv6:1:2:3:4:5:6:7]>", "<a@[IPv6:1:2:3:4:5:6:7:8:9]>",
        "<a@[IPv6:1::2::3]>", "<a@[IPv6:12345::1]>", "<a@[IPv6:g::1]>", "<a@[IPv6::1]>",
        "<a@[IPv6:1:]>", "<a@[IPv6:1.2.3.4::]>", "<a@[IPv6:1:2:3:4:5:6:7:1.2.3.4]>",
        "<a@[IPv6:::1.2.3]>", "<a@[IPv6:1:2:3:4:5:6:7:8::]>", "<a@[IPv6:1:2:3:4:5:6::7:8]>",
        "<a@[tag:]>", "<a@[:content]>", "<a@[tag-:x]>", "<a@[t_g:x]>",
        "<a@[tag:a b]>", "<a@[tag:a\\b]>", "<a@[tag:a[b]>",
        "<a@" + std::string(64, 'd') + ".com>",     // label over 63
    };
    for (const auto& b : bad) {
        check_error(b, kMail, 501, "5.1.7");
        check_error(b, kRcpt, 501, "5.1.3");
    }
}

TEST_CASE("parse_path: controls and NUL are refused everywhere") {
    const std::vector<std::string> bad = {
        nul("<a", "@b>"), nul("<a@b", ">"), nul("<\"a", "\"@b>"), nul("<a@[1.2.3.4", "]>"),
        nul("<", "a@b>"), nul("<a@b>", ""), nul("", "<a@b>"),
        "<a\r@b>", "<a\n@b>", "<a@b\r\n>", "<\"a\tb\"@c>", "<\"a\r\nRCPT TO:<x>\"@c>",
        "<a\x7f@b>", "<\"a\\\x01\"@b>", "<a@b\x1b>",
    };
    for (const auto& b : bad) {
        check_error(b, kMail, 501, "5.1.7");
        check_error(b, kRcpt, 501, "5.1.3");
        check_error(b, kMailUtf8, 501, "5.1.7");
    }
    // The qmail-queue envelope injection probe
    check_error(nul("<a@b", "Tvictim@c>"), kRcpt, 501, "5.1.3");
}

TEST_CASE("parse_path: 8-bit needs SMTPUTF8 and valid UTF-8") {
    check_error("<j\xc3\xb6rg@x>", kMail, 553, "5.6.7");
    check_error("<j\xc3\xb6rg@x>", kRcpt, 553, "5.6.7");
    check_error("<a@b\xc3\xbc.de>", kMail, 553, "5.6.7");
    check_error("<\"j\xc3\xb6 rg\"@x>", kMail, 553, "5.6.7");

    auto u = parse_path("<j\xc3\xb6rg@b\xc3\xbc" "cher.de>", kMailUtf8);
    REQUIRE(u.ok());
    CHECK(u->local == "j\xc3\xb6rg");
    CHECK(u->domain == "b\xc3\xbc" "cher.de");
    CHECK(u->format() == "<j\xc3\xb6rg@b\xc3\xbc" "cher.de>");
    CHECK(parse_path("<\"j\xc3\xb6 rg\"@x>", kMailUtf8)->local == "j\xc3\xb6 rg");
    CHECK(parse_path("<\xe4\xb8\xad\xe6\x96\x87@\xe4\xbe\x8b.\xe4\xb8\xad\xe5\x9b\xbd>", kMailUtf8).ok());
    CHECK(parse_path("<\xf0\x9f\x98\x80@x>", kMailUtf8).ok());   // 4-byte sequence

    const std::vector<std::string> invalid = {
        "<\xc3@x>",               // truncated
        "<\xc3\x28@x>",           // bad continuation
        "<\xc0\xaf@x>",           // overlong '/'
        "<\xe0\x80\xaf@x>",       // overlong
        "<\xed\xa0\x80@x>",       // surrogate
        "<\xf4\x90\x80\x80@x>",   // above U+10FFFF
        "<\xff@x>", "<\x80@x>",   // not a lead byte
        "<\xc2\x85@x>",           // C1 control NEL
        "<a@\xf8\x88\x80\x80\x80>",
    };
    for (const auto& b : invalid) {
        check_error(b, kMailUtf8, 501, "5.5.2");
        check_error(b, kMail, 553, "5.6.7");
    }
    // Even under SMTPUTF8, address literals and quoted pairs stay ASCII.
    check_error("<a@[1.2.3.\xc3\xa4]>", kMailUtf8, 501, "5.1.7");
    check_error("<\"\\\xc3\xa4\"@x>", kMailUtf8, 501, "5.1.7");
}

TEST_CASE("parse_path: length limits") {
    const std::string l64(64, 'l'), l65(65, 'l');
    CHECK(parse_path("<" + l64 + "@x>", kMail).ok());
    check_error("<" + l65 + "@x>", kMail, 501, "5.5.2");
    // the quotes count: 62 characters quoted is 64 octets
    CHECK(parse_path("<\"" + std::string(62, 'q') + "\"@x>", kMail).ok());
    check_error("<\"" + std::string(63, 'q') + "\"@x>", kMail, 501, "5.5.2");

    // domain of exactly 255 octets, path then 2+2+255 = 259 > 256: the path limit wins
    const std::string l63(63, 'd');
    const std::string d255 = l63 + "." + l63 + "." + l63 + "." + l63;
    REQUIRE(d255.size() == 255);
    check_error("<a@" + d255 + ">", kMail, 501, "5.5.2");

    // path of exactly 256 octets: "<" + 64 + "@" + 189 + ">"
    std::string d189 = std::string(63, 'a') + "." + std::string(63, 'b') + "." + std::string(61, 'c');
    REQUIRE(d189.size() == 189);
    std::string p256 = "<" + l64 + "@" + d189 + ">";
    REQUIRE(p256.size() == 256);
    CHECK(parse_path(p256, kMail).ok());
    std::string p257 = "<" + l64 + "@" + d189 + "c>";
    check_error(p257, kMail, 501, "5.5.2");

    // a huge input is refused cheaply and correctly
    check_error("<" + std::string(100000, 'a') + "@x>", kMail, 501, "5.5.2");
    check_error("<a@" + std::string(100000, 'b') + ">", kRcpt, 501, "5.5.2");
}

TEST_CASE("Address::format / bare / domain_lower") {
    Address a{"user", "Example.COM"};
    CHECK(a.format() == "<user@Example.COM>");
    CHECK(a.bare() == "user@Example.COM");
    CHECK(a.domain_lower() == "example.com");

    CHECK(Address{"quoted user", "x"}.format() == "<\"quoted user\"@x>");
    CHECK(Address{"a\"b", "x"}.format() == "<\"a\\\"b\"@x>");
    CHECK(Address{"a\\b", "x"}.format() == "<\"a\\\\b\"@x>");
    CHECK(Address{".a", "x"}.format() == "<\".a\"@x>");
    CHECK(Address{"a.", "x"}.format() == "<\"a.\"@x>");
    CHECK(Address{"a..b", "x"}.format() == "<\"a..b\"@x>");
    CHECK(Address{"a@b", "x"}.format() == "<\"a@b\"@x>");
    CHECK(Address{"", "x"}.format() == "<\"\"@x>");
    CHECK(Address{"a.b", "x"}.format() == "<a.b@x>");
    CHECK(Address{}.format() == "<>");
    CHECK(Address{"a", "[IPv6:::1]"}.domain_lower() == "[ipv6:::1]");
    CHECK(Address{"a", "B\xc3\x9c.DE"}.domain_lower() == "b\xc3\x9c.de");  // 8-bit untouched

    // quoting is minimal: an unnecessarily quoted local part comes back unquoted
    auto q = parse_path("<\"john\"@x>", kMail);
    REQUIRE(q.ok());
    CHECK(q->format() == "<john@x>");
}

TEST_CASE("parse_path: format round trip over every printable local-part byte") {
    for (int c = 0x20; c < 0x7f; ++c) {
        for (const std::string& local : {std::string(1, char(c)), "a" + std::string(1, char(c)) + "b"}) {
            Address a{local, "x.example"};
            auto r = parse_path(a.format(), kRcpt);
            CAPTURE(a.format());
            REQUIRE(r.ok());
            CHECK(*r == a);
        }
    }
}

}  // namespace ASMTPD_TEST_UNIT
