// dns_message.cpp - the wire-format DNS answer parser and the answer interpretation.
//
// Must never: read outside the input, follow more compression pointers than a name can hold,
// or accept a name over 255 octets. Every failure is nullopt; nothing throws.
#include "core/proto/dns_message.hpp"

#include <algorithm>
#include <cstdio>

#include "core/proto/cidr.hpp"

namespace asmtpd::proto {

namespace {

constexpr std::size_t kHeaderSize = 12;
constexpr std::size_t kMaxNameOctets = 255;
constexpr int kMaxChain = 16;   // CNAME links followed inside one answer

class Reader {
public:
    explicit Reader(std::string_view w) : w_(w) {}

    bool u8(std::uint8_t& out) {
        if (pos_ + 1 > w_.size()) return false;
        out = static_cast<std::uint8_t>(w_[pos_++]);
        return true;
    }
    bool u16(std::uint16_t& out) {
        std::uint8_t hi = 0, lo = 0;
        if (!u8(hi) || !u8(lo)) return false;
        out = static_cast<std::uint16_t>(hi << 8 | lo);
        return true;
    }
    bool u32(std::uint32_t& out) {
        std::uint16_t hi = 0, lo = 0;
        if (!u16(hi) || !u16(lo)) return false;
        out = static_cast<std::uint32_t>(hi) << 16 | lo;
        return true;
    }
    // A (possibly compressed) name starting at the current position.
    bool name(std::string& out) {
        std::size_t end = 0;
        if (!name_at(pos_, out, end)) return false;
        pos_ = end;
        return true;
    }
    // Name at offset at; end is the offset after its in-place part.
    bool name_at(std::size_t at, std::string& out, std::size_t& end) const {
        out.clear();
        std::size_t octets = 1;   // the root label
        bool jumped = false;
        int jumps = 0;
        for (;;) {
            if (at >= w_.size()) return false;
            auto len = static_cast<std::uint8_t>(w_[at]);
            if ((len & 0xc0) == 0xc0) {
                if (at + 1 >= w_.size() || ++jumps > 127) return false;
                std::size_t target = static_cast<std::size_t>(len & 0x3f) << 8 | static_cast<std::uint8_t>(w_[at + 1]);
                if (!jumped) end = at + 2;
                jumped = true;
                if (target >= at) return false;   // pointers go backwards: no loops
                at = target;
                continue;
            }
            if ((len & 0xc0) != 0) return false;   // 0x40/0x80: obsolete label types
            if (len == 0) {
                if (!jumped) end = at + 1;
                return true;
            }
            octets += len + 1;
            if (octets > kMaxNameOctets || at + 1 + len > w_.size()) return false;
            if (!out.empty()) out += '.';
            for (std::size_t i = at + 1; i <= at + len; ++i) append_escaped(out, static_cast<std::uint8_t>(w_[i]));
            at += 1 + len;
        }
    }
    bool skip(std::size_t n) {
        if (pos_ + n > w_.size()) return false;
        pos_ += n;
        return true;
    }
    std::size_t pos() const { return pos_; }
    std::string_view bytes(std::size_t at, std::size_t n) const { return w_.substr(at, n); }

private:
    static void append_escaped(std::string& out, std::uint8_t c) {
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                     c == '_' || c == '*' || c == '/';
        if (plain) {
            out += static_cast<char>(c);
            return;
        }
        char buf[5];
        std::snprintf(buf, sizeof buf, "\\%03u", static_cast<unsigned>(c));
        out += buf;
    }

    std::string_view w_;
    std::size_t pos_ = 0;
};

// The rdata of rr (type, rdlength already read) at the reader's position.
bool parse_rdata(Reader& r, std::uint16_t rdlength, DnsRr& rr) {
    const std::size_t start = r.pos(), end = start + rdlength;
    auto done = [&] { return r.pos() == end; };
    switch (static_cast<DnsType>(rr.type)) {
    case DnsType::a:
    case DnsType::aaaa: {
        const std::size_t n = rr.type == static_cast<std::uint16_t>(DnsType::a) ? 4 : 16;
        if (rdlength != n || !r.skip(n)) return false;
        IpAddress ip;
        std::string_view b = r.bytes(start, n);
        if (n == 4) {
            ip.bytes[10] = ip.bytes[11] = 0xff;
            std::copy(b.begin(), b.end(), ip.bytes.begin() + 12);
        } else {
            std::copy(b.begin(), b.end(), ip.bytes.begin());
        }
        // An AAAA holding a mapped address must stay IPv6 text.
        rr.data.value = (n == 16 && ip.is_v4()) ? "::ffff:" + ip.to_string() : ip.to_string();
        return true;
    }
    case DnsType::ns:
    case DnsType::cname:
    case DnsType::ptr:
        return r.name(rr.data.value) && done();
    case DnsType::mx:
        return r.u16(rr.data.preference) && r.name(rr.data.value) && done();
    case DnsType::soa: {
        std::string rname;
        std::uint32_t serial = 0, refresh = 0, retry = 0, expire = 0;
        return r.name(rr.data.value) && r.name(rname) && r.u32(serial) && r.u32(refresh) && r.u32(retry) &&
               r.u32(expire) && r.u32(rr.soa_minimum) && done();
    }
    case DnsType::txt:
        while (r.pos() < end) {
            std::uint8_t len = 0;
            if (!r.u8(len) || r.pos() + len > end) return false;
            rr.data.value.append(r.bytes(r.pos(), len));
            r.skip(len);
        }
        return true;
    }
    return r.skip(rdlength);   // a type we do not read
}

bool parse_rrs(Reader& r, std::uint16_t count, std::vector<DnsRr>* out) {
    for (std::uint16_t i = 0; i < count; ++i) {
        DnsRr rr;
        std::uint16_t klass = 0, rdlength = 0;
        if (!r.name(rr.owner) || !r.u16(rr.type) || !r.u16(klass) || !r.u32(rr.ttl) || !r.u16(rdlength)) return false;
        if (!parse_rdata(r, rdlength, rr)) return false;
        if (rr.ttl & 0x80000000u) rr.ttl = 0;   // RFC 2181 §8: a TTL with the top bit set means 0
        rr.data.ttl = rr.ttl;
        if (out) out->push_back(std::move(rr));
    }
    return true;
}

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

std::uint32_t negative_ttl(const DnsMessage& m) {
    for (const DnsRr& rr : m.authority)
        if (rr.type == static_cast<std::uint16_t>(DnsType::soa)) return std::min(rr.ttl, rr.soa_minimum);
    return 0;   // no SOA: RFC 2308 §5 says do not cache
}

}  // namespace

std::string dns_type_name(std::uint16_t type) {
    switch (static_cast<DnsType>(type)) {
    case DnsType::a: return "A";
    case DnsType::ns: return "NS";
    case DnsType::cname: return "CNAME";
    case DnsType::soa: return "SOA";
    case DnsType::ptr: return "PTR";
    case DnsType::mx: return "MX";
    case DnsType::txt: return "TXT";
    case DnsType::aaaa: return "AAAA";
    }
    return "TYPE" + std::to_string(type);
}

std::string_view dns_status_name(DnsStatus s) {
    switch (s) {
    case DnsStatus::answer: return "answer";
    case DnsStatus::nxdomain: return "NXDOMAIN";
    case DnsStatus::nodata: return "no data";
    case DnsStatus::servfail: return "SERVFAIL";
    case DnsStatus::timeout: return "timeout";
    }
    return "?";
}

std::optional<DnsMessage> parse_dns_message(std::string_view wire) {
    if (wire.size() < kHeaderSize) return std::nullopt;
    Reader r(wire);
    DnsMessage m;
    std::uint16_t flags = 0, qd = 0, an = 0, ns = 0, ar = 0;
    r.u16(m.id);
    r.u16(flags);
    r.u16(qd);
    r.u16(an);
    r.u16(ns);
    r.u16(ar);
    m.response = (flags & 0x8000) != 0;
    m.truncated = (flags & 0x0200) != 0;
    m.rcode = static_cast<std::uint8_t>(flags & 0x000f);
    for (std::uint16_t i = 0; i < qd; ++i) {
        std::string name;
        std::uint16_t type = 0, klass = 0;
        if (!r.name(name) || !r.u16(type) || !r.u16(klass)) return std::nullopt;
        if (i == 0) {
            m.qname = std::move(name);
            m.qtype = type;
        }
    }
    if (!parse_rrs(r, an, &m.answers) || !parse_rrs(r, ns, &m.authority)) return std::nullopt;
    // The additional section is not used, but a truncated one still marks the message broken.
    if (!parse_rrs(r, ar, nullptr)) return std::nullopt;
    return m;
}

bool dns_name_equal(std::string_view a, std::string_view b) {
    if (!a.empty() && a.back() == '.') a.remove_suffix(1);
    if (!b.empty() && b.back() == '.') b.remove_suffix(1);
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

DnsResult dns_result(const DnsMessage& m, std::string_view qname, DnsType qtype) {
    DnsResult out;
    if (m.rcode != 0 && m.rcode != 3) {
        out.status = DnsStatus::servfail;
        out.error = m.rcode == 2 ? "server failure" : m.rcode == 5 ? "query refused" : "rcode " + std::to_string(m.rcode);
        return out;
    }
    const auto want = static_cast<std::uint16_t>(qtype);
    std::string name(qname);
    std::uint32_t chain_ttl = 0x7fffffff;
    for (int link = 0; link <= kMaxChain; ++link) {
        for (const DnsRr& rr : m.answers) {
            if (rr.type == want && dns_name_equal(rr.owner, name)) {
                out.records.push_back(rr.data);
                chain_ttl = std::min(chain_ttl, rr.ttl);
            }
        }
        if (!out.records.empty()) {
            out.status = DnsStatus::answer;
            out.ttl = chain_ttl;
            return out;
        }
        auto cname = std::find_if(m.answers.begin(), m.answers.end(), [&](const DnsRr& rr) {
            return rr.type == static_cast<std::uint16_t>(DnsType::cname) && dns_name_equal(rr.owner, name);
        });
        if (cname == m.answers.end()) break;
        chain_ttl = std::min(chain_ttl, cname->ttl);
        name = cname->data.value;
    }
    out.status = m.rcode == 3 ? DnsStatus::nxdomain : DnsStatus::nodata;
    out.ttl = negative_ttl(m);
    return out;
}

std::optional<std::string> dns_reverse_name(std::string_view text) {
    auto ip = parse_ip(text);
    if (!ip) return std::nullopt;
    std::string out;
    if (ip->is_v4()) {
        for (int i = 15; i >= 12; --i) out += std::to_string(ip->bytes[static_cast<std::size_t>(i)]) + ".";
        return out + "in-addr.arpa";
    }
    static constexpr char kHex[] = "0123456789abcdef";
    for (int i = 15; i >= 0; --i) {
        std::uint8_t b = ip->bytes[static_cast<std::size_t>(i)];
        out += kHex[b & 0xf];
        out += '.';
        out += kHex[b >> 4];
        out += '.';
    }
    return out + "ip6.arpa";
}

}  // namespace asmtpd::proto
