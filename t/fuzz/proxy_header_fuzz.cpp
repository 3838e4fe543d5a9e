// proxy_header_fuzz.cpp - libFuzzer target for core/proto/proxy_header.cpp.
// The input is what a proxy (or an attacker) sent first. Invariants: the first byte decides
// at once; Done never reads past the input or the size caps, reparses identically from its
// own bytes, and its addresses are canonical and survive re-encoding as v1 and v2; Error and
// Done are final under appended bytes; shorter prefixes only ever need more or fail the same way.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/proto/cidr.hpp"
#include "core/proto/proxy_header.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

namespace {

bool same(const ProxyParse& a, const ProxyParse& b) {
    return a.status == b.status && a.error == b.error && a.header == b.header;
}

std::string encode_v1(const ProxyHeader& h) {
    if (h.local) return "PROXY UNKNOWN\r\n";
    bool v4 = h.src_ip.find(':') == std::string::npos;
    std::string fam = v4 ? "TCP4 " : "TCP6 ";
    // A v4 source with a v6 destination cannot be written as v1 TCP4: use mapped forms.
    std::string src = h.src_ip, dst = h.dst_ip;
    if (v4 != (h.dst_ip.find(':') == std::string::npos)) {
        fam = "TCP6 ";
        if (v4) src = "::ffff:" + src;
        else dst = "::ffff:" + dst;
    }
    return "PROXY " + fam + src + " " + dst + " " + std::to_string(h.src_port) + " " + std::to_string(h.dst_port) + "\r\n";
}

std::string encode_v2(const ProxyHeader& h) {
    std::string out(kProxyV2Signature);
    if (h.local) return out + std::string("\x20\x00\x00\x00", 4);
    auto s = parse_ip(h.src_ip), d = parse_ip(h.dst_ip);
    FUZZ_CHECK(s && d);
    out += '\x21';
    out += '\x21';   // always TCP6: mapped IPv4 must come back as IPv4 text
    out += '\x00';
    out += '\x24';
    out.append(reinterpret_cast<const char*>(s->bytes.data()), 16);
    out.append(reinterpret_cast<const char*>(d->bytes.data()), 16);
    out += static_cast<char>(h.src_port >> 8);
    out += static_cast<char>(h.src_port & 0xff);
    out += static_cast<char>(h.dst_port >> 8);
    out += static_cast<char>(h.dst_port & 0xff);
    return out;
}

void check_addresses_equal(const ProxyHeader& a, const ProxyHeader& b) {
    FUZZ_CHECK(a.local == b.local);
    FUZZ_CHECK(a.src_ip == b.src_ip && a.dst_ip == b.dst_ip);
    FUZZ_CHECK(a.src_port == b.src_port && a.dst_port == b.dst_port);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    ProxyParse r = parse_proxy_header(in);

    if (in.empty()) FUZZ_CHECK(r.need_more());
    if (!in.empty() && in[0] != 'P' && in[0] != '\r') FUZZ_CHECK(r.failed() && r.error == "not a PROXY protocol header");

    // Final answers stay final when more bytes arrive.
    const std::string longer = std::string(in) + "\r\nPROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\n";
    ProxyParse r2 = parse_proxy_header(longer);
    if (!r.need_more()) FUZZ_CHECK(same(r, r2));

    if (r.failed()) {
        FUZZ_CHECK(!r.error.empty());
    } else if (r.need_more()) {
        FUZZ_CHECK(r.error.empty());
        FUZZ_CHECK(size < kProxyV2MaxSize);
    } else {
        const ProxyHeader& h = r.header;
        FUZZ_CHECK(h.consumed > 0 && h.consumed <= size);
        FUZZ_CHECK(h.version == (in[0] == 'P' ? 1 : 2));
        FUZZ_CHECK(h.version == 2 ? (h.consumed >= 16 && h.consumed <= kProxyV2MaxSize) : h.consumed <= kProxyV1MaxSize);
        FUZZ_CHECK(h.local == h.src_ip.empty() && h.local == h.dst_ip.empty());
        FUZZ_CHECK(same(parse_proxy_header(in.substr(0, h.consumed)), r));
        FUZZ_CHECK(parse_proxy_header(in.substr(0, h.consumed - 1)).need_more());
        if (!h.local) {
            for (const std::string& ip : {h.src_ip, h.dst_ip}) {
                auto a = parse_ip(ip);
                FUZZ_CHECK(a && a->to_string() == ip);   // canonical text
            }
        }
        ProxyParse v1 = parse_proxy_header(encode_v1(h));
        FUZZ_CHECK(v1.done());
        check_addresses_equal(v1.header, h);
        ProxyParse v2 = parse_proxy_header(encode_v2(h));
        FUZZ_CHECK(v2.done());
        check_addresses_equal(v2.header, h);
    }

    // Shorter prefixes: NeedMore, or the same Error; all of them for short inputs, a sample
    // for long ones (quadratic otherwise).
    const std::size_t step = size <= 256 ? 1 : size / 64 + 1;
    for (std::size_t k = 0; k < size; k += step) {
        ProxyParse p = parse_proxy_header(in.substr(0, k));
        if (r.done() && k >= r.header.consumed) {
            FUZZ_CHECK(same(p, r));
        } else if (p.failed()) {
            FUZZ_CHECK(same(p, r));
        } else {
            FUZZ_CHECK(p.need_more());
        }
    }
    return 0;
}
