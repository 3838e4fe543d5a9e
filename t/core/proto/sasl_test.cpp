// sasl_test.cpp - tests core/proto/sasl.cpp: base64 against RFC 4648 vectors and strictness
// (every malformed form, canonical round trips over an exhaustive small space), response
// decoding ("*", "=", length cap), PLAIN (RFC 4616 examples, NUL rules), LOGIN prompts and
// fields, CRAM-MD5 challenge and response (RFC 2195 example).
#include "core/proto/sasl.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;
using namespace std::string_literals;

TEST_CASE("base64: RFC 4648 test vectors both ways") {
    const std::pair<std::string, std::string> v[] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
        {"\0\0\0"s, "AAAA"}, {"\xff\xff\xff", "////"}, {"\xfb\xff", "+/8="},
    };
    for (const auto& [plain, enc] : v) {
        CAPTURE(enc);
        CHECK(base64_encode(plain) == enc);
        auto d = base64_decode(enc);
        REQUIRE(d);
        CHECK(*d == plain);
    }
}

TEST_CASE("base64: strict decoding rejects every sloppy form") {
    const std::string bad[] = {
        "Zg", "Zg=", "Zm9", "Zm9vY", "Z",                 // length not a multiple of 4
        "Zg==Zg==", "Zm8=Zm9v", "====", "Z===", "=Zg=",   // padding not at the very end
        "Zh==", "Zm9=", "AB==", "AAB=",                   // non-zero unused bits
        "Zm9v ", " Zm9v", "Zm9\nv", "Zm9v\r\n", "Zm 9v",  // white space
        "Zm9-", "Zm9_", "Zm9.", "Zm9\0"s, "Zm9\x80",       // outside the alphabet (url-safe too)
        "Zg=\0"s, "Zg=A", "Z=g=",
    };
    for (const std::string& s : bad) {
        CAPTURE(s);
        CHECK_FALSE(base64_decode(s).has_value());
    }
}

TEST_CASE("base64: every accepted string is the canonical encoding of what it decodes to") {
    // All 4-character strings over a set mixing alphabet edges, padding and junk, and all
    // 8-character strings over a smaller one: decode succeeds only for canonical input.
    const std::string chars = "AQgw/+9=-_ \n";
    std::size_t accepted = 0;
    for (char a : chars)
        for (char b : chars)
            for (char c : chars)
                for (char d : chars) {
                    std::string s{a, b, c, d};
                    auto r = base64_decode(s);
                    if (!r) continue;
                    ++accepted;
                    REQUIRE(base64_encode(*r) == s);
                }
    CHECK(accepted > 1000);   // the test would be vacuous otherwise
    const std::string small = "Ag=+ ";
    for (char a : small)
        for (char b : small)
            for (char c : small)
                for (char d : small)
                    for (char e : small)
                        for (char f : small)
                            for (char g : small)
                                for (char h : small) {
                                    std::string s{a, b, c, d, e, f, g, h};
                                    auto r = base64_decode(s);
                                    if (r) REQUIRE(base64_encode(*r) == s);
                                }
    // Every 1- and 2-byte input round-trips.
    for (int x = 0; x < 256; ++x) {
        std::string one(1, static_cast<char>(x));
        REQUIRE(base64_decode(base64_encode(one)) == one);
        for (int y = 0; y < 256; ++y) {
            std::string two{static_cast<char>(x), static_cast<char>(y)};
            REQUIRE(base64_decode(base64_encode(two)) == two);
        }
    }
}

TEST_CASE("responses: '*' cancels, '=' is empty, bad base64 and overlong lines get their replies") {
    auto cancel = decode_response("*");
    REQUIRE_FALSE(cancel.ok());
    CHECK(cancel.error().code == 501);
    CHECK(cancel.error().esc == "5.7.0");
    CHECK(is_sasl_cancel("*"));
    CHECK_FALSE(is_sasl_cancel("**"));
    CHECK_FALSE(is_sasl_cancel(" *"));

    auto empty = decode_response("");
    REQUIRE(empty.ok());
    CHECK(empty->empty());
    auto eq = decode_initial_response("=");
    REQUIRE(eq.ok());
    CHECK(eq->empty());
    CHECK_FALSE(decode_response("=").ok());   // "=" means empty only as the initial response
    CHECK(decode_initial_response("").ok());   // "" decodes to "" (AUTH without an argument has none)

    auto bad = decode_response("dGltIGI5MTNh!");
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.error().code == 501);
    CHECK(bad.error().esc == "5.5.2");
    CHECK(decode_initial_response("Zm9").error().code == 501);

    // 12286 characters + CRLF = 12288: the longest line; base64 fits 12284 of them.
    std::string at_limit = base64_encode(std::string(9213, 'x'));
    REQUIRE(at_limit.size() == 12284);
    CHECK(decode_response(at_limit).ok());
    CHECK(decode_response(std::string(kSaslMaxLine - 2, 'A')).error().code == 501);   // within: just bad base64
    auto too_long = decode_response(std::string(kSaslMaxLine - 1, 'A'));
    REQUIRE_FALSE(too_long.ok());
    CHECK(too_long.error().code == 500);
    CHECK(too_long.error().esc == "5.5.6");
    CHECK(decode_response(at_limit + "AAAA").error().code == 500);
    CHECK(decode_initial_response(std::string(kSaslMaxLine + 4, 'A')).error().code == 500);
}

TEST_CASE("mechanism names") {
    CHECK(parse_sasl_mechanism("PLAIN") == SaslMechanism::Plain);
    CHECK(parse_sasl_mechanism("login") == SaslMechanism::Login);
    CHECK(parse_sasl_mechanism("Cram-Md5") == SaslMechanism::CramMd5);
    CHECK_FALSE(parse_sasl_mechanism("CRAM-SHA1"));
    CHECK_FALSE(parse_sasl_mechanism("PLAIN "));
    CHECK_FALSE(parse_sasl_mechanism(""));
    CHECK(to_string(SaslMechanism::CramMd5) == "CRAM-MD5");
}

TEST_CASE("PLAIN: RFC 4616 examples and the NUL rules") {
    auto tim = decode_response("AHRpbQB0YW5zdGFhZnRhbnN0YWFm");
    REQUIRE(tim.ok());
    auto c = parse_plain(*tim);
    REQUIRE(c.ok());
    CHECK(*c == PlainCredentials{"", "tim", "tanstaaftanstaaf"});

    auto ursel = decode_response("VXJzZWwAS3VydAB4aXBqM3BsbXE=");
    REQUIRE(ursel.ok());
    auto u = parse_plain(*ursel);
    REQUIRE(u.ok());
    CHECK(*u == PlainCredentials{"Ursel", "Kurt", "xipj3plmq"});

    CHECK(parse_plain("\0user\0p\xe4ss"s)->password == "p\xe4ss");   // Latin-1 passwords pass
    CHECK(parse_plain("z\xc3\xa9\0u\0p"s).ok());                     // UTF-8 identities pass

    struct Bad {
        std::string msg;
        std::string why;
    };
    const Bad bad[] = {
        {"", "no NUL"},
        {"users3cr3t", "no NUL"},
        {"user\0s3cr3t"s, "one NUL"},
        {"\0user\0s3cr3t\0"s, "more than two"},
        {"\0\0user\0s3cr3t"s, "more than two"},
        {"\0\0s3cr3t"s, "empty authentication identity"},
        {"\0user\0"s, "empty password"},
        {"\0\0"s, "empty authentication identity"},
        {"\0us\r\ner\0s3cr3t"s, "not clean UTF-8"},
        {"ad\nmin\0user\0s3cr3t"s, "not clean UTF-8"},
        {"\0us\xe9r\0s3cr3t"s, "not clean UTF-8"},
    };
    for (const Bad& b : bad) {
        CAPTURE(b.msg);
        auto r = parse_plain(b.msg);
        REQUIRE_FALSE(r.ok());
        CHECK(r.error().code == 501);
        CHECK(r.error().esc == "5.5.2");
        CHECK(r.error().lines.at(0).find(b.why) != std::string::npos);
        CHECK(r.error().lines.at(0).find("s3cr3t") == std::string::npos);   // never echo the secret
    }
}

TEST_CASE("LOGIN: the prompts and the two fields") {
    CHECK(base64_decode(kLoginUserPrompt) == "Username:");
    CHECK(base64_decode(kLoginPasswordPrompt) == "Password:");
    CHECK(parse_login_user("tim").value() == "tim");
    CHECK_FALSE(parse_login_user("").ok());
    CHECK_FALSE(parse_login_user("t\0im"s).ok());
    CHECK_FALSE(parse_login_user("tim\r\n").ok());
    CHECK(parse_login_password("").ok());   // whether an empty password may pass is the plugin's call
    CHECK(parse_login_password("p \xe4ss").value() == "p \xe4ss");
    CHECK_FALSE(parse_login_password("pa\0ss"s).ok());
}

TEST_CASE("CRAM-MD5: RFC 2195 challenge and response") {
    std::string ch = cram_md5_challenge("1896", 697170952, "postoffice.reston.mci.net");
    CHECK(ch == "<1896.697170952@postoffice.reston.mci.net>");
    CHECK(base64_encode(ch) == "PDE4OTYuNjk3MTcwOTUyQHBvc3RvZmZpY2UucmVzdG9uLm1jaS5uZXQ+");

    auto resp = decode_response("dGltIGI5MTNhNjAyYzdlZGE3YTQ5NWI0ZTZlNzMzNGQzODkw");
    REQUIRE(resp.ok());
    CHECK(*resp == "tim b913a602c7eda7a495b4e6e7334d3890");
    auto r = parse_cram_md5(*resp);
    REQUIRE(r.ok());
    CHECK(*r == CramMd5Response{"tim", "b913a602c7eda7a495b4e6e7334d3890"});

    CHECK(parse_cram_md5("tim B913A602C7EDA7A495B4E6E7334D3890")->digest == "b913a602c7eda7a495b4e6e7334d3890");
    CHECK(parse_cram_md5("John Doe b913a602c7eda7a495b4e6e7334d3890")->user == "John Doe");

    const std::string bad[] = {
        "timb913a602c7eda7a495b4e6e7334d3890",     // no space
        " b913a602c7eda7a495b4e6e7334d3890",       // empty user
        "tim b913a602c7eda7a495b4e6e7334d389",     // 31 digits
        "tim b913a602c7eda7a495b4e6e7334d38900",   // 33 digits
        "tim b913a602c7eda7a495b4e6e7334d389g",    // not hex
        "tim b913a602c7eda7a495b4e6e7334d3890 ",   // trailing space: empty digest
        "t\x01im b913a602c7eda7a495b4e6e7334d3890", // control in the user
        "",
    };
    for (const std::string& b : bad) {
        CAPTURE(b);
        auto e = parse_cram_md5(b);
        REQUIRE_FALSE(e.ok());
        CHECK(e.error().code == 501);
    }
}

}  // namespace ASMTPD_TEST_UNIT
