// proxy_header_test.cpp - tests core/proto/proxy_header.cpp: valid v1/v2 headers split at
// every byte, every field error with its reason, TLVs, LOCAL/UNKNOWN, size limits, and a
// sweep of every single-byte mutation of valid headers (total, monotone, never past input).
#include "core/proto/proxy_header.hpp"

#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;

namespace {

const std::string kTrailer = "EHLO client.example\r\n";

// A v2 header: fixed part, then `body` (addresses + TLVs); len_override replaces the length.
std::string v2(unsigned char ver_cmd, unsigned char fam, const std::string& body, int len_override = -1) {
    std::string h(kProxyV2Signature);
    h += static_cast<char>(ver_cmd);
    h += static_cast<char>(fam);
    const auto len = static_cast<unsigned>(len_override >= 0 ? len_override : static_cast<int>(body.size()));
    h += static_cast<char>((len >> 8) & 0xff);
    h += static_cast<char>(len & 0xff);
    return h + body;
}

std::string be16(unsigned v) { return {static_cast<char>((v >> 8) & 0xff), static_cast<char>(v & 0xff)}; }

std::string tlv(unsigned char type, const std::string& value) {
    return std::string(1, static_cast<char>(type)) + be16(static_cast<unsigned>(value.size())) + value;
}

std::string bytes(std::initializer_list<unsigned> v) {
    std::string s;
    for (unsigned b : v) s += static_cast<char>(b);
    return s;
}

const std::string kAddr4 = bytes({192, 0, 2, 1, 198, 51, 100, 2}) + be16(56324) + be16(25);
const std::string kAddr6 = bytes({0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,          // 2001:db8::1
                                  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 7}) +  // ::ffff:10.0.0.7
                           be16(1) + be16(587);

struct Valid {
    std::string name;
    std::string header;
    ProxyHeader expect;
};

std::vector<Valid> valid_headers() {
    const std::string max_unknown =
        "PROXY UNKNOWN ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    const std::string max_tcp6 =
        "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    std::string tlvs = tlv(0x01, "smtp") + tlv(0x02, "mx.example.org") + tlv(0x04, "") + tlv(0x05, std::string(128, 'u')) +
                       tlv(0x03, bytes({1, 2, 3, 4})) + tlv(0x20, bytes({0x07, 0, 0, 0, 0}) + tlv(0x21, "TLSv1.3"));
    // The largest accepted v2: TLVs fill it to exactly kProxyV2MaxSize.
    std::string fill = tlv(0xee, std::string(kProxyV2MaxSize - 16 - 12 - 3, 'x'));
    std::vector<Valid> all = {
        {"v1 TCP4", "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n", {1, 44, false, "192.0.2.1", 56324, "198.51.100.2", 25}},
        {"v1 TCP4 zeros", "PROXY TCP4 0.0.0.0 255.255.255.255 0 0\r\n", {1, 40, false, "0.0.0.0", 0, "255.255.255.255", 0}},
        {"v1 TCP6", "PROXY TCP6 2001:DB8:0:0::1 2001:db8::2 65535 25\r\n",
         {1, 50, false, "2001:db8::1", 65535, "2001:db8::2", 25}},
        {"v1 TCP6 mapped", "PROXY TCP6 ::ffff:192.0.2.1 ::1 1 2\r\n", {1, 37, false, "192.0.2.1", 1, "::1", 2}},
        {"v1 TCP6 longest", max_tcp6,
         {1, max_tcp6.size(), false, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535}},
        {"v1 UNKNOWN", "PROXY UNKNOWN\r\n", {1, 15, true, "", 0, "", 0}},
        {"v1 UNKNOWN, 107 bytes", max_unknown, {1, 107, true, "", 0, "", 0}},
        {"v2 TCP4", v2(0x21, 0x11, kAddr4), {2, 28, false, "192.0.2.1", 56324, "198.51.100.2", 25}},
        {"v2 TCP6", v2(0x21, 0x21, kAddr6), {2, 52, false, "2001:db8::1", 1, "10.0.0.7", 587}},
        {"v2 TCP4 + TLVs", v2(0x21, 0x11, kAddr4 + tlvs),
         {2, 28 + tlvs.size(), false, "192.0.2.1", 56324, "198.51.100.2", 25}},
        {"v2 TCP4 at the size limit", v2(0x21, 0x11, kAddr4 + fill),
         {2, kProxyV2MaxSize, false, "192.0.2.1", 56324, "198.51.100.2", 25}},
        {"v2 LOCAL", v2(0x20, 0x00, ""), {2, 16, true, "", 0, "", 0}},
        {"v2 LOCAL with addresses", v2(0x20, 0x11, kAddr4 + tlvs), {2, 28 + tlvs.size(), true, "", 0, "", 0}},
        {"v2 LOCAL, odd family, short block", v2(0x20, 0xff, "abc"), {2, 19, true, "", 0, "", 0}},
    };
    for (Valid& v : all) v.expect.consumed = v.header.size();   // the whole header, nothing more
    return all;
}

struct Invalid {
    std::string header;
    std::string reason;   // substring of the error
};

std::vector<Invalid> invalid_headers() {
    const std::string ok4 = "PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\n";
    return {
        {"EHLO client\r\n", "not a PROXY protocol header"},
        {"proxy TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "not a PROXY"},
        {"PROXYTCP4 1.2.3.4 5.6.7.8 1 2\r\n", "not a PROXY"},
        {"PROXY\r\n", "not a PROXY"},
        {std::string("\0PROXY", 6), "not a PROXY"},
        {"\r\nQUIT\r\n", "not a PROXY"},
        {"PROXY  TCP4 1.2.3.4 5.6.7.8 1 2\r\n", "protocol is not"},
        {"PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n", "protocol is not"},
        {"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", "protocol is not"},
        {"PROXY UNKNOWNX\r\n", "protocol is not"},
        {"PROXY \r\n", "protocol is not"},
        {"PROXY TCP4\r\n", "protocol is not"},
        {"PROXY TCP4 \r\n", "missing fields"},
        {"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", "missing fields"},
        {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", "extra fields"},
        {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", "extra fields"},
        {"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", "empty field"},
        {"PROXY TCP4 1.2.3.4 5.6.7.8  1 2\r\n", "empty field"},
        {"PROXY TCP4 192.0.2.01 198.51.100.2 56324 25\r\n", "bad IPv4 source"},
        {"PROXY TCP4 256.0.2.1 198.51.100.2 56324 25\r\n", "bad IPv4 source"},
        {"PROXY TCP4 192.0.2 198.51.100.2 56324 25\r\n", "bad IPv4 source"},
        {"PROXY TCP4 192.0.2.1.5 198.51.100.2 56324 25\r\n", "bad IPv4 source"},
        {"PROXY TCP4 192..2.1 198.51.100.2 56324 25\r\n", "bad IPv4 source"},
        {"PROXY TCP4 0x7f.0.0.1 198.51.100.2 56324 25\r\n", "bad IPv4 source"},
        {"PROXY TCP4 ::1 198.51.100.2 56324 25\r\n", "bad IPv4 source"},
        {"PROXY TCP4 192.0.2.1 198.51.100.2. 56324 25\r\n", "bad IPv4 destination"},
        {"PROXY TCP4 192.0.2.1 1000.51.100.2 56324 25\r\n", "bad IPv4 destination"},
        {"PROXY TCP6 192.0.2.1 ::1 1 2\r\n", "bad IPv6 source"},
        {"PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n", "bad IPv6 source"},
        {"PROXY TCP6 [::1] ::1 1 2\r\n", "bad IPv6 source"},
        {"PROXY TCP6 ::1 1:2:3:4:5:6:7:8:9 1 2\r\n", "bad IPv6 destination"},
        {"PROXY TCP6 ::1 1::2::3 1 2\r\n", "bad IPv6 destination"},
        {"PROXY TCP6 ::1 12345::1 1 2\r\n", "bad IPv6 destination"},
        {"PROXY TCP4 192.0.2.1 198.51.100.2 056324 25\r\n", "bad source port"},
        {"PROXY TCP4 192.0.2.1 198.51.100.2 +1 25\r\n", "bad source port"},
        {"PROXY TCP4 192.0.2.1 198.51.100.2 -1 25\r\n", "bad source port"},
        {"PROXY TCP4 192.0.2.1 198.51.100.2 1x 25\r\n", "bad source port"},
        {"PROXY TCP4 192.0.2.1 198.51.100.2 56324 025\r\n", "bad destination port"},
        {"PROXY TCP4 192.0.2.1 198.51.100.2 56324 65536\r\n", "bad destination port"},
        {"PROXY TCP4 192.0.2.1 198.51.100.2 56324 100000\r\n", "bad destination port"},
        {"PROXY TCP4 192.0.2.1 198.51.100.2 56324 00\r\n", "bad destination port"},
        {"PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\n", "LF without CR"},
        {"PROXY TCP4 192.0.2.1\r198.51.100.2 56324 25\r\n", "CR without LF"},
        {"PROXY TCP4 192.0.2.1 198.51.100.2 56324 25\r\r\n", "CR without LF"},
        {"PROXY TCP4 192.0.2.1\t198.51.100.2 56324 25\r\n", "control or 8-bit"},
        {std::string("PROXY TCP4 192.0.2.1\0198.51.100.2 56324 25\r\n", 44), "control or 8-bit"},
        {"PROXY UNKNOWN \xc3\xa9\r\n", "control or 8-bit"},
        {"PROXY UNKNOWN " + std::string(92, 'x') + "\r\n", "no CRLF within 107 bytes"},   // 108 bytes
        {"PROXY UNKNOWN " + std::string(200, 'x'), "no CRLF within 107 bytes"},
        {"PROXY UNKNOWN " + std::string(92, 'x') + "\r\x80\n", "no CRLF within 107 bytes"},   // found by fuzzing
        {ok4.substr(0, ok4.size() - 2) + std::string(107, ' ') + "\r\n", "no CRLF within 107"},
        // v2
        {v2(0x11, 0x11, kAddr4), "version is not 2"},
        {v2(0x31, 0x11, kAddr4), "version is not 2"},
        {v2(0x01, 0x11, kAddr4), "version is not 2"},
        {v2(0x22, 0x11, kAddr4), "neither LOCAL nor PROXY"},
        {v2(0x2f, 0x11, kAddr4), "neither LOCAL nor PROXY"},
        {v2(0x21, 0x00, ""), "not TCP over IPv4 or IPv6"},
        {v2(0x21, 0x10, kAddr4), "not TCP over IPv4 or IPv6"},
        {v2(0x21, 0x12, kAddr4), "not TCP over IPv4 or IPv6"},
        {v2(0x21, 0x22, kAddr6), "not TCP over IPv4 or IPv6"},
        {v2(0x21, 0x31, std::string(216, '\0')), "not TCP over IPv4 or IPv6"},
        {v2(0x21, 0x32, std::string(216, '\0')), "not TCP over IPv4 or IPv6"},
        {v2(0x21, 0x41, kAddr4), "not TCP over IPv4 or IPv6"},
        {v2(0x21, 0x11, kAddr4.substr(0, 11)), "too short for its family"},
        {v2(0x21, 0x11, ""), "too short for its family"},
        {v2(0x21, 0x21, kAddr6.substr(0, 35)), "too short for its family"},
        {v2(0x21, 0x21, kAddr4), "too short for its family"},
        {v2(0x21, 0x11, kAddr4 + bytes({1, 0})), "truncated TLV header"},
        {v2(0x21, 0x11, kAddr4 + tlv(0x01, "smtp") + "\x02"), "truncated TLV header"},
        {v2(0x21, 0x11, kAddr4 + bytes({1, 0, 5}) + "smtp"), "TLV runs past the header"},
        {v2(0x21, 0x11, kAddr4 + "\x01\xff\xff"), "TLV runs past the header"},
        {v2(0x21, 0x11, kAddr4, 65535), "longer than 2048 bytes"},
        {v2(0x21, 0x11, kAddr4, static_cast<int>(kProxyV2MaxSize - 15)), "longer than 2048"},
        {v2(0x20, 0x00, "", static_cast<int>(kProxyV2MaxSize - 15)), "longer than 2048"},
    };
}

// Every prefix of a valid header needs more; the whole parses; trailing bytes are left alone.
void check_valid(const Valid& v) {
    CAPTURE(v.name);
    for (std::size_t k = 0; k < v.header.size(); ++k) {
        CAPTURE(k);
        auto p = parse_proxy_header(std::string_view(v.header).substr(0, k));
        REQUIRE(p.need_more());
        CHECK(p.error.empty());
    }
    auto p = parse_proxy_header(v.header);
    REQUIRE_MESSAGE(p.done(), p.error);
    CHECK(p.header == v.expect);
    CHECK(p.header.consumed == v.header.size());
    for (const std::string& more : {kTrailer, std::string("\r\n"), v.header, std::string(3000, '\0')}) {
        auto q = parse_proxy_header(v.header + more);
        REQUIRE(q.done());
        CHECK(q.header == v.expect);
    }
}

// Each prefix needs more or fails with the final reason; once failed, every longer prefix
// fails the same way.
void check_invalid(const Invalid& v) {
    CAPTURE(v.header);
    auto full = parse_proxy_header(v.header);
    REQUIRE(full.failed());
    CHECK_MESSAGE(full.error.find(v.reason) != std::string::npos, full.error);
    bool failed = false;
    for (std::size_t k = 1; k <= v.header.size(); ++k) {
        CAPTURE(k);
        auto p = parse_proxy_header(std::string_view(v.header).substr(0, k));
        CHECK_FALSE(p.done());
        if (failed) CHECK(p.failed());
        if (p.failed()) {
            failed = true;
            CHECK(p.error == full.error);
        }
    }
    auto longer = parse_proxy_header(v.header + kTrailer);
    CHECK(longer.failed());
    CHECK(longer.error == full.error);
}

}  // namespace

TEST_CASE("proxy header: valid v1 and v2 headers, split at every byte") {
    for (const Valid& v : valid_headers()) check_valid(v);
}

TEST_CASE("proxy header: every field error, with a stable reason at every split") {
    for (const Invalid& v : invalid_headers()) check_invalid(v);
}

TEST_CASE("proxy header: the first bytes decide at once; nothing is guessed") {
    CHECK(parse_proxy_header("").need_more());
    for (int c = 0; c < 256; ++c) {
        std::string one(1, static_cast<char>(c));
        auto p = parse_proxy_header(one);
        CAPTURE(c);
        if (c == 'P' || c == '\r') {
            CHECK(p.need_more());
        } else {
            REQUIRE(p.failed());
            CHECK(p.error == "not a PROXY protocol header");
        }
    }
    // A mismatch anywhere in either signature fails as soon as that byte arrives.
    const std::string sigs[] = {"PROXY ", std::string(kProxyV2Signature)};
    for (const std::string& sig : sigs) {
        for (std::size_t i = 1; i < sig.size(); ++i) {
            std::string s = sig.substr(0, i) + static_cast<char>(sig[i] ^ 0x20);
            CAPTURE(s);
            auto p = parse_proxy_header(s);
            REQUIRE(p.failed());
            CHECK(p.error == "not a PROXY protocol header");
        }
    }
    // An SMTP client that talks first (no header) is an error, never "no header present".
    CHECK(parse_proxy_header("HELO x\r\n").failed());
    CHECK(parse_proxy_header("\r\n").need_more());   // still a v2 signature prefix
    CHECK(parse_proxy_header("\r\n\r\nQUIT").failed());
}

TEST_CASE("proxy header: the v1 107-byte limit is exact") {
    std::string base = "PROXY UNKNOWN ";
    std::string at_limit = base + std::string(kProxyV1MaxSize - base.size() - 2, 'a') + "\r\n";
    REQUIRE(at_limit.size() == 107);
    auto p = parse_proxy_header(at_limit);
    REQUIRE(p.done());
    CHECK(p.header.consumed == 107);
    std::string over = base + std::string(kProxyV1MaxSize - base.size() - 1, 'a') + "\r\n";
    CHECK(parse_proxy_header(over).failed());
    CHECK(parse_proxy_header(over.substr(0, 106)).need_more());
    CHECK(parse_proxy_header(over.substr(0, 107)).failed());   // 107 bytes and no LF yet
}

TEST_CASE("proxy header: every single-byte mutation of valid headers is handled totally") {
    // For each position and every byte value: a final answer or NeedMore, never reading past
    // the input, Done only with a consistent header, and the answer is stable under appends.
    for (const Valid& v : valid_headers()) {
        if (v.header.size() > 200) continue;   // the long ones add nothing but time
        CAPTURE(v.name);
        int bad = 0;
        for (std::size_t i = 0; i < v.header.size(); ++i) {
            for (int b = 0; b < 256; ++b) {
                std::string m = v.header;
                m[i] = static_cast<char>(b);
                auto p = parse_proxy_header(m);
                auto q = parse_proxy_header(m + kTrailer);
                bool ok = true;
                if (p.done()) {
                    const ProxyHeader& h = p.header;
                    ok = h.consumed <= m.size() && h.version == (m[0] == 'P' ? 1 : 2) &&
                         (h.version == 2 || h.consumed <= kProxyV1MaxSize) && h.local == h.src_ip.empty() &&
                         h.local == h.dst_ip.empty() && q.done() && q.header == h;
                } else if (p.failed()) {
                    ok = q.failed() && q.error == p.error && !p.error.empty();
                } else {
                    ok = p.error.empty() && m.size() < kProxyV2MaxSize;
                }
                if (!ok && bad++ == 0) MESSAGE("first bad mutation at ", i, " to ", b);
            }
        }
        CHECK(bad == 0);
    }
}

TEST_CASE("proxy header: a v1 round trip through the parsed fields") {
    const char* lines[] = {
        "PROXY TCP4 10.1.2.3 127.0.0.1 40000 2526\r\n",
        "PROXY TCP6 2001:db8::ab 2001:db8::1 40000 2526\r\n",
    };
    for (const char* line : lines) {
        auto p = parse_proxy_header(line);
        REQUIRE(p.done());
        const ProxyHeader& h = p.header;
        std::string again = std::string("PROXY ") + (h.src_ip.find(':') == std::string::npos ? "TCP4 " : "TCP6 ") + h.src_ip +
                            " " + h.dst_ip + " " + std::to_string(h.src_port) + " " + std::to_string(h.dst_port) + "\r\n";
        CHECK(again == line);
    }
}

}  // namespace ASMTPD_TEST_UNIT
