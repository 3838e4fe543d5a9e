// dkim_tags_test.cpp - tests core/proto/dkim_tags.cpp: the RFC 6376 §3.2 tag-list grammar,
// FWS around names, '=' and values, folding inside values, and every way a list is refused.
#include "core/proto/dkim_tags.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto::dkim;

namespace {
TagList ok(std::string_view text) {
    TagList t = parse_tag_list(text);
    INFO(std::string(text), " -> ", t.error);
    REQUIRE(t.ok());
    return t;
}
void bad(std::string_view text) {
    CAPTURE(std::string(text));
    TagList t = parse_tag_list(text);
    CHECK_FALSE(t.ok());
    CHECK(t.tags.empty());
}
}  // namespace

TEST_CASE("§3.2 simple lists, order kept, trailing ';' allowed") {
    TagList t = ok("v=1; a=rsa-sha256; d=example.net");
    REQUIRE(t.tags.size() == 3);
    CHECK(t.tags[0].name == "v");
    CHECK(t.tags[1].value == "rsa-sha256");
    CHECK(t.find("d")->value == "example.net");
    CHECK(t.find("x") == nullptr);
    CHECK(ok("v=1;").tags.size() == 1);
    CHECK(ok("v=1; ").tags.size() == 1);
    CHECK(ok("a_1=x").find("a_1")->value == "x");
}

TEST_CASE("§3.2 FWS around the name, the '=' and the value; values keep inner FWS") {
    TagList t = ok(" \t v \t= \t 1 \t;\r\n d\r\n =\r\n example.net\r\n ;");
    CHECK(t.find("v")->value == "1");
    CHECK(t.find("d")->value == "example.net");
    TagList f = ok("b=abc\r\n def ghi ;x=1");
    CHECK(f.find("b")->value == "abc\r\n def ghi");
    CHECK(strip_fws(f.find("b")->value) == "abcdefghi");
}

TEST_CASE("§3.2 empty values are values") {
    TagList t = ok("p=; k=rsa");
    CHECK(t.find("p")->value.empty());
    CHECK(ok("p=").find("p")->value.empty());
    CHECK(ok("p= \r\n ").find("p")->value.empty());
}

TEST_CASE("after_equals points just past the '=' (for emptying b=)") {
    std::string_view text = "a=1; b= xyz ; c=3";
    TagList t = ok(text);
    const Tag* b = t.find("b");
    REQUIRE(b);
    CHECK(text.substr(0, b->after_equals) == "a=1; b=");
    CHECK(std::size_t(b->value.data() - text.data()) == 8);
}

TEST_CASE("§3.2 tag names are case-sensitive") {
    TagList t = ok("V=1; v=2");
    CHECK(t.find("V")->value == "1");
    CHECK(t.find("v")->value == "2");
}

TEST_CASE("RFC 8616: 8-bit octets are allowed in values") {
    CHECK(ok("d=\xc3\xa9xample.com").find("d")->value == "\xc3\xa9xample.com");
}

TEST_CASE("malformed lists are refused whole") {
    bad("");
    bad("   ");
    bad(";");
    bad("v=1;;a=2");
    bad("v=1; ;a=2");
    bad("v=1; v=2");          // duplicate
    bad("v");                 // no '='
    bad("v=1; a");
    bad("=1");
    bad("1a=1");              // name starts with a digit
    bad("a-b=1");             // '-' is not a name character
    bad("a=1\r\nb=2");        // CRLF not followed by WSP is not folding
    bad("a=1\nb");
    bad("a=x\x01y");          // control character
    bad("a=x\ry");
    bad("a b=1");
}

TEST_CASE("strip_fws removes WSP, CR and LF only") {
    CHECK(strip_fws(" a\tb\r\n c ") == "abc");
    CHECK(strip_fws("") == "");
    CHECK(strip_fws("a;b") == "a;b");
}

}  // namespace ASMTPD_TEST_UNIT
