// ip_list.cpp - qmail-style address lists. See ip_list.hpp.
#include "core/proto/ip_list.hpp"

#include <string>

namespace asmtpd::proto {

namespace {

bool all_of(std::string_view s, bool (*pred)(char)) {
    for (char c : s)
        if (!pred(c)) return false;
    return true;
}
bool dec(char c) { return c >= '0' && c <= '9'; }
bool hex(char c) { return dec(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

// "a.", "a.b.", "a.b.c." -> a.b.c.0/24 etc. Each octet 0..255, one to three octets.
std::optional<proto::Cidr> v4_prefix(std::string_view text) {
    std::string net;
    unsigned octets = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        auto dot = text.find('.', start);
        if (dot == std::string_view::npos) return std::nullopt;
        auto part = text.substr(start, dot - start);
        if (part.empty() || part.size() > 3 || !all_of(part, dec)) return std::nullopt;
        int value = std::stoi(std::string(part));
        if (value > 255) return std::nullopt;
        net += std::to_string(value) + ".";   // "010." means 10, not an octal or a parse error
        ++octets;
        start = dot + 1;
    }
    if (octets == 0 || octets > 3) return std::nullopt;
    for (unsigned i = octets; i < 4; ++i) net += i == 3 ? "0" : "0.";
    return proto::parse_cidr(net + "/" + std::to_string(octets * 8));
}

// "2001:", "2001:db8:" ... up to seven groups -> 2001:db8::/32 etc.
std::optional<proto::Cidr> v6_prefix(std::string_view text) {
    unsigned groups = 0;
    std::size_t start = 0;
    while (start < text.size()) {
        auto colon = text.find(':', start);
        if (colon == std::string_view::npos) return std::nullopt;
        auto part = text.substr(start, colon - start);
        if (part.empty() || part.size() > 4 || !all_of(part, hex)) return std::nullopt;
        ++groups;
        start = colon + 1;
    }
    if (groups == 0 || groups > 7) return std::nullopt;
    return proto::parse_cidr(std::string(text) + ":/" + std::to_string(groups * 16));
}

}  // namespace

std::optional<proto::Cidr> parse_ip_entry(std::string_view text) {
    if (text.empty()) return std::nullopt;
    if (auto c = proto::parse_cidr(text)) return c;
    // A full address ending in ':' ("2001:db8::") was taken above; what is left with a
    // trailing separator is a qmail prefix.
    if (text.back() == '.') return v4_prefix(text);
    if (text.back() == ':') return v6_prefix(text);
    return std::nullopt;
}

IpList IpList::parse(const std::vector<std::string>& entries, std::vector<std::string>* bad) {
    IpList list;
    for (const auto& e : entries)
        if (!list.add(e) && bad) bad->push_back(e);
    return list;
}

bool IpList::add(std::string_view entry) {
    auto c = parse_ip_entry(entry);
    if (!c) return false;
    nets_.add(*c);
    return true;
}

}  // namespace asmtpd::proto
