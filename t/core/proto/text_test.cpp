// text_test.cpp - tests core/proto/text.cpp: ASCII-only case folding and the strict UTF-8
// validator (overlongs, surrogates, range, truncation, C1 controls).
#include "core/proto/text.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

TEST_CASE("ASCII case helpers ignore 8-bit bytes") {
    CHECK(to_lower("MiXeD.Example-9") == "mixed.example-9");
    CHECK(to_upper("mail from") == "MAIL FROM");
    CHECK(to_lower("\xc3\x89") == "\xc3\x89");
    CHECK(iequals("PostMaster", "postmaster"));
    CHECK_FALSE(iequals("postmaster", "postmaste"));
    CHECK_FALSE(iequals("a", "\xc3\xa1"));
    CHECK(istarts_with("from:<a>", "FROM:"));
    CHECK_FALSE(istarts_with("FRO", "FROM:"));
    CHECK(has_8bit("a\x80"));
    CHECK_FALSE(has_8bit(std::string("a\0\x7f", 3)));
    CHECK(is_ctl('\0'));
    CHECK(is_ctl('\x7f'));
    CHECK(is_ctl('\x1f'));
    CHECK_FALSE(is_ctl(' '));
    CHECK_FALSE(is_ctl('\x80'));
}

TEST_CASE("valid_utf8") {
    CHECK(valid_utf8(""));
    CHECK(valid_utf8("plain ascii"));
    CHECK(valid_utf8(std::string("nul\0ok", 6)));   // C0 is the callers' business
    CHECK(valid_utf8("\xc2\xa0"));                  // U+00A0
    CHECK(valid_utf8("\xdf\xbf"));                  // U+07FF
    CHECK(valid_utf8("\xe0\xa0\x80"));              // U+0800
    CHECK(valid_utf8("\xed\x9f\xbf"));              // U+D7FF
    CHECK(valid_utf8("\xee\x80\x80"));              // U+E000
    CHECK(valid_utf8("\xef\xbf\xbf"));              // U+FFFF
    CHECK(valid_utf8("\xf0\x90\x80\x80"));          // U+10000
    CHECK(valid_utf8("\xf4\x8f\xbf\xbf"));          // U+10FFFF
    CHECK_FALSE(valid_utf8("\x80"));
    CHECK_FALSE(valid_utf8("\xbf"));
    CHECK_FALSE(valid_utf8("\xc0\x80"));            // overlong NUL
    CHECK_FALSE(valid_utf8("\xc1\xbf"));
    CHECK_FALSE(valid_utf8("\xc2\x80"));            // C1 U+0080
    CHECK_FALSE(valid_utf8("\xc2\x9f"));            // C1 U+009F
    CHECK_FALSE(valid_utf8("\xe0\x9f\xbf"));        // overlong
    CHECK_FALSE(valid_utf8("\xed\xa0\x80"));        // U+D800
    CHECK_FALSE(valid_utf8("\xed\xbf\xbf"));        // U+DFFF
    CHECK_FALSE(valid_utf8("\xf0\x8f\xbf\xbf"));    // overlong
    CHECK_FALSE(valid_utf8("\xf4\x90\x80\x80"));    // U+110000
    CHECK_FALSE(valid_utf8("\xf5\x80\x80\x80"));
    CHECK_FALSE(valid_utf8("\xf8\x88\x80\x80\x80"));
    CHECK_FALSE(valid_utf8("\xfe"));
    CHECK_FALSE(valid_utf8("\xff"));
    CHECK_FALSE(valid_utf8("\xe2\x82"));            // truncated
    CHECK_FALSE(valid_utf8("a\xf0\x9f\x98"));
    CHECK_FALSE(valid_utf8("\xe2\x28\xa1"));
    CHECK_FALSE(valid_utf8("\xc3\xc3\xa9"));
}

TEST_CASE("valid_utf8 agrees with a decode/re-encode oracle for every 1-3 byte string") {
    // Oracle: decode scalar values the textbook way, re-encode, compare.
    auto encode = [](char32_t cp) {
        std::string s;
        if (cp < 0x80) s += char(cp);
        else if (cp < 0x800) { s += char(0xC0 | (cp >> 6)); s += char(0x80 | (cp & 0x3F)); }
        else if (cp < 0x10000) { s += char(0xE0 | (cp >> 12)); s += char(0x80 | ((cp >> 6) & 0x3F)); s += char(0x80 | (cp & 0x3F)); }
        else { s += char(0xF0 | (cp >> 18)); s += char(0x80 | ((cp >> 12) & 0x3F)); s += char(0x80 | ((cp >> 6) & 0x3F)); s += char(0x80 | (cp & 0x3F)); }
        return s;
    };
    int valid = 0;
    for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
        bool ok = !(cp >= 0xD800 && cp <= 0xDFFF) && !(cp >= 0x80 && cp <= 0x9F);
        if (valid_utf8(encode(cp)) != ok) {
            FAIL("mismatch at code point " << static_cast<unsigned>(cp));
        }
        valid += ok;
    }
    CHECK(valid == 0x110000 - 0x800 - 0x20);
    // every 2-byte string that is not a valid encoding is refused
    for (int a = 0x80; a < 0x100; ++a) {
        for (int b = 0; b < 0x100; ++b) {
            std::string s = {char(a), char(b)};
            bool expect = a >= 0xC2 && a <= 0xDF && (b & 0xC0) == 0x80 && !(a == 0xC2 && b <= 0x9F);
            if (valid_utf8(s) != expect) FAIL("2-byte mismatch " << a << " " << b);
        }
    }
}

TEST_CASE("find_cr_or_lf finds the first CR or LF, whichever comes first") {
    using asmtpd::proto::find_cr_or_lf;
    constexpr auto npos = std::string_view::npos;
    CHECK(find_cr_or_lf("", 0) == npos);
    CHECK(find_cr_or_lf("abc", 0) == npos);
    CHECK(find_cr_or_lf("abc", 5) == npos);
    CHECK(find_cr_or_lf("ab\ncd\r", 0) == 2);
    CHECK(find_cr_or_lf("ab\rcd\n", 0) == 2);
    CHECK(find_cr_or_lf("ab\rcd\n", 3) == 5);
    CHECK(find_cr_or_lf("\n", 0) == 0);
    CHECK(find_cr_or_lf("x\r", 1) == 1);
    // Against a straightforward reference on every position of a mixed input.
    std::string s = "a\r\nb\n\rc\r\r\n\nd";
    for (std::size_t from = 0; from <= s.size(); ++from) {
        std::size_t ref = npos;
        for (std::size_t k = from; k < s.size(); ++k)
            if (s[k] == '\r' || s[k] == '\n') { ref = k; break; }
        CHECK(find_cr_or_lf(s, from) == ref);
    }
}

}  // namespace ASMTPD_TEST_UNIT
