// uribl_zones.cpp - uribl_zones lines and answers. See uribl_zones.hpp.
#include "core/proto/uribl_zones.hpp"

#include <arpa/inet.h>

#include "core/proto/dns_lists.hpp"
#include "core/proto/plugin_args.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::proto {

std::optional<UriblAction> uribl_action_from_string(std::string_view s) {
    if (s == "add-header") return UriblAction::AddHeader;
    if (s == "deny") return UriblAction::Deny;
    if (s == "denysoft") return UriblAction::DenySoft;
    if (s == "log") return UriblAction::Log;
    return std::nullopt;
}

std::string_view to_string(UriblAction a) {
    switch (a) {
    case UriblAction::AddHeader: return "add-header";
    case UriblAction::Deny: return "deny";
    case UriblAction::DenySoft: return "denysoft";
    case UriblAction::Log: return "log";
    }
    return "log";
}

namespace {

std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        std::size_t j = i;
        while (j < line.size() && line[j] != ' ' && line[j] != '\t') ++j;
        if (j > i) out.push_back(line.substr(i, j - i));
        i = j;
    }
    return out;
}

std::optional<std::uint32_t> parse_mask(std::string_view text) {
    std::uint32_t mask = 0;
    std::size_t start = 0;
    while (start <= text.size()) {
        std::size_t comma = text.find(',', start);
        if (comma == std::string_view::npos) comma = text.size();
        std::string_view one = text.substr(start, comma - start);
        const bool negative = !one.empty() && one[0] == '-';
        if (negative) one.remove_prefix(1);
        auto v = parse_count(one);
        if (!v || *v > 0xffffffffu) return std::nullopt;
        mask |= negative ? 0x00ffffffu : static_cast<std::uint32_t>(*v);
        start = comma + 1;
    }
    return mask;
}

}  // namespace

std::optional<UriblZone> parse_uribl_zone(std::string_view line, std::string* error) {
    auto w = words(line);
    auto fail = [&](std::string why) -> std::optional<UriblZone> {
        if (error) *error = std::move(why);
        return std::nullopt;
    };
    if (w.empty() || w.size() > 3) return fail("expected 'zone [mask] [action]'");
    UriblZone z;
    std::string_view zone = w[0];
    if (!zone.empty() && zone.back() == '.') zone.remove_suffix(1);
    if (zone.empty() || !is_dns_list_name(zone) || zone.find('.') == std::string_view::npos)
        return fail("not a zone: '" + std::string(w[0]) + "'");
    z.zone = to_lower(zone);
    if (w.size() >= 2) {
        auto m = parse_mask(w[1]);
        if (!m) return fail("bad mask '" + std::string(w[1]) + "'");
        z.mask = *m;
    }
    if (w.size() == 3) {
        z.action = uribl_action_from_string(w[2]);
        if (!z.action) return fail("unknown action '" + std::string(w[2]) + "' (add-header, deny, denysoft, log)");
    }
    return z;
}

std::vector<UriblZone> parse_uribl_zones(const std::vector<std::string>& lines, std::string* error) {
    std::vector<UriblZone> out;
    for (std::size_t i = 0; i < lines.size(); ++i) {
        std::string_view l = lines[i];
        auto first = l.find_first_not_of(" \t");
        if (first == std::string_view::npos || l[first] == '#') continue;
        std::string why;
        auto z = parse_uribl_zone(l, &why);
        if (!z) {
            if (error) *error = "'" + lines[i] + "': " + why;
            return {};
        }
        out.push_back(std::move(*z));
    }
    return out;
}

bool uribl_match(std::string_view a_record, std::uint32_t mask) {
    if (classify_dns_list_answer(a_record) != DnsListAnswer::listed) return false;
    in_addr a{};
    if (inet_pton(AF_INET, std::string(a_record).c_str(), &a) != 1) return false;
    return (ntohl(a.s_addr) & mask) != 0;
}

}  // namespace asmtpd::proto
