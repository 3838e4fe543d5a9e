// dns_lists.cpp - DNS list config lines, query names and answers. See dns_lists.hpp.
#include "core/proto/dns_lists.hpp"

#include "core/proto/cidr.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::proto {

namespace {

constexpr std::string_view kSpace = " \t";

std::string_view trim(std::string_view s) {
    auto b = s.find_first_not_of(kSpace);
    if (b == std::string_view::npos) return {};
    return s.substr(b, s.find_last_not_of(kSpace) - b + 1);
}

std::optional<DnsListZone> make_zone(std::string_view zone, std::optional<std::string_view> message) {
    zone = trim(zone);
    if (!zone.empty() && zone.back() == '.') zone.remove_suffix(1);
    if (!is_dns_list_name(zone) || zone.back() == '.') return std::nullopt;   // "a.." is no zone
    DnsListZone z{to_lower(zone), std::nullopt};
    if (message) {
        auto m = trim(*message);
        if (!m.empty()) z.message = std::string(m);
    }
    return z;
}

template <class Parse>
std::vector<DnsListZone> parse_all(const std::vector<std::string>& lines, std::vector<std::string>* bad, Parse parse) {
    std::vector<DnsListZone> out;
    for (const auto& l : lines) {
        if (auto z = parse(l)) out.push_back(std::move(*z));
        else if (bad) bad->push_back(l);
    }
    return out;
}

char hex_digit(unsigned v) { return "0123456789abcdef"[v & 15]; }

}  // namespace

bool is_dns_list_name(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    if (name.empty() || name.size() > 253) return false;
    std::size_t label = 0;
    for (std::size_t i = 0; i <= name.size(); ++i) {
        if (i == name.size() || name[i] == '.') {
            if (label == 0 || label > 63) return false;
            label = 0;
            continue;
        }
        char c = name[i];
        if (!is_alnum(c) && c != '-' && c != '_') return false;
        ++label;
    }
    return true;
}

std::optional<DnsListZone> parse_dnsbl_zone(std::string_view line) {
    auto colon = line.find(':');
    if (colon == std::string_view::npos) return make_zone(line, std::nullopt);
    return make_zone(line.substr(0, colon), line.substr(colon + 1));
}

std::optional<DnsListZone> parse_rhsbl_zone(std::string_view line) {
    line = trim(line);
    auto space = line.find_first_of(kSpace);
    if (space == std::string_view::npos) return make_zone(line, std::nullopt);
    return make_zone(line.substr(0, space), line.substr(space));
}

std::vector<DnsListZone> parse_dnsbl_zones(const std::vector<std::string>& lines, std::vector<std::string>* bad) {
    return parse_all(lines, bad, parse_dnsbl_zone);
}

std::vector<DnsListZone> parse_rhsbl_zones(const std::vector<std::string>& lines, std::vector<std::string>* bad) {
    return parse_all(lines, bad, parse_rhsbl_zone);
}

std::optional<std::string> dnsbl_query_name(std::string_view ip, std::string_view zone) {
    auto addr = parse_ip(ip);
    if (!addr) return std::nullopt;
    std::string name;
    if (addr->is_v4()) {
        for (int i = 15; i >= 12; --i) name += std::to_string(addr->bytes[static_cast<std::size_t>(i)]) + ".";
    } else {
        for (int i = 15; i >= 0; --i) {
            auto b = addr->bytes[static_cast<std::size_t>(i)];
            name += hex_digit(b);
            name += '.';
            name += hex_digit(b >> 4);
            name += '.';
        }
    }
    name += zone;
    if (!is_dns_list_name(name)) return std::nullopt;
    return name;
}

std::optional<std::string> rhsbl_query_name(std::string_view domain, std::string_view zone) {
    if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
    if (!is_dns_list_name(domain)) return std::nullopt;
    std::string name = to_lower(domain) + "." + std::string(zone);
    if (!is_dns_list_name(name)) return std::nullopt;
    return name;
}

DnsListAnswer classify_dns_list_answer(std::string_view a_record) {
    auto addr = parse_ip(a_record);
    if (!addr || !addr->is_v4() || a_record.find(':') != std::string_view::npos) return DnsListAnswer::ignored;
    const auto& b = addr->bytes;
    if (b[12] != 127) return DnsListAnswer::ignored;
    if (b[13] == 255 && b[14] == 255) return DnsListAnswer::refused;
    return DnsListAnswer::listed;
}

std::string expand_ip(std::string_view text, std::string_view ip) {
    constexpr std::string_view kMark = "%IP%";
    std::string out;
    std::size_t at = 0;
    for (auto hit = text.find(kMark); hit != std::string_view::npos; hit = text.find(kMark, at)) {
        out.append(text.substr(at, hit - at)).append(ip);
        at = hit + kMark.size();
    }
    out.append(text.substr(at));
    return out;
}

RblsmtpdSetting rblsmtpd_setting(const std::map<std::string, std::string>& env) {
    auto it = env.find("RBLSMTPD");
    if (it == env.end()) return {};
    const std::string& v = it->second;
    if (v.empty()) return {RblsmtpdSetting::Kind::skip, {}};
    if (v.front() == '-') return {RblsmtpdSetting::Kind::reject_perm, v.substr(1)};
    return {RblsmtpdSetting::Kind::reject_temp, v};
}

}  // namespace asmtpd::proto
