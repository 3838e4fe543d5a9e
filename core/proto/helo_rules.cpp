// helo_rules.cpp - HELO checks that need no DNS. See helo_rules.hpp.
#include "core/proto/helo_rules.hpp"

#include "core/proto/cidr.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::proto {

namespace {

bool looks_like_regex(std::string_view line) {
    return line.find_first_of("{}[]()^$|*+?\\!") != std::string_view::npos;
}

bool same_ip(std::string_view a, std::string_view b) {
    auto x = parse_ip(a), y = parse_ip(b);
    return x && y && *x == *y;
}

std::optional<HeloFailure> fail(std::string reply, std::string log) {
    return HeloFailure{std::move(reply), std::move(log)};
}

// The last two labels of a name, lower case ("example.com" of "mx.Example.COM").
std::string last_two_labels(std::string_view name) {
    if (!name.empty() && name.back() == '.') name.remove_suffix(1);
    auto last = name.rfind('.');
    if (last == std::string_view::npos || last == 0) return to_lower(name);
    auto before = name.rfind('.', last - 1);
    return to_lower(before == std::string_view::npos ? name : name.substr(before + 1));
}

}  // namespace

std::optional<HeloPolicy> helo_policy_from_string(std::string_view s) {
    if (s == "lenient") return HeloPolicy::lenient;
    if (s == "rfc") return HeloPolicy::rfc;
    if (s == "strict") return HeloPolicy::strict;
    return std::nullopt;
}

BadHelo BadHelo::parse(const std::vector<std::string>& lines, std::vector<std::string>* bad) {
    BadHelo out;
    for (const auto& line : lines) {
        if (!looks_like_regex(line)) {
            out.names_.push_back(to_lower(line));
            continue;
        }
        bool negated = line.front() == '!';
        std::string text = negated ? line.substr(1) : line;
        try {
            out.patterns_.push_back({line, std::regex(text, std::regex::ECMAScript | std::regex::icase), negated});
        } catch (const std::regex_error&) {
            if (bad) bad->push_back(line);
        }
    }
    return out;
}

std::optional<HeloFailure> BadHelo::check(std::string_view host) const {
    std::string lower = to_lower(host);
    for (const auto& n : names_)
        if (n == lower) return fail("I do not believe you are " + std::string(host) + ".", "in badhelo");
    for (const auto& p : patterns_) {
        bool hit = std::regex_search(lower, p.re);
        if (hit != p.negated)
            return fail("Your HELO hostname is not allowed", "badhelo pattern match (" + p.text + ")");
    }
    return std::nullopt;
}

std::optional<std::string> helo_address_literal(std::string_view host) {
    if (host.size() < 3 || host.front() != '[' || host.back() != ']') return std::nullopt;
    auto inner = host.substr(1, host.size() - 2);
    if (istarts_with(inner, "IPv6:")) {
        inner.remove_prefix(5);
        if (inner.find(':') == std::string_view::npos) return std::nullopt;
    } else if (inner.find(':') != std::string_view::npos) {
        return std::nullopt;   // RFC 5321 §4.1.3: IPv6 literals carry the "IPv6:" tag
    }
    if (!parse_ip(inner) || inner.find('%') != std::string_view::npos) return std::nullopt;
    return std::string(inner);
}

bool helo_is_name(std::string_view host) {
    return !host.empty() && !helo_address_literal(host) && !parse_ip(host) && host.front() != '[';
}

std::optional<HeloFailure> helo_static_check(HeloPolicy policy, const HeloFacts& f, const BadHelo& bad) {
    if (auto b = bad.check(f.host)) return b;
    if (!f.remote_is_local && iequals(f.host, "localhost")) return fail("You are not localhost", "invalid localhost");
    auto literal = helo_address_literal(f.host);
    if (!f.remote_is_local) {
        bool mine = !f.me.empty() && iequals(f.host, f.me);
        for (const auto& ip : f.my_ips) mine = mine || (literal && same_ip(*literal, ip));
        if (mine) return fail("You are not me", "our own name or address from outside");
    }
    if (literal && !same_ip(*literal, f.remote_ip)) return fail("Forged IPs not accepted here", "forged IP literal");
    if (parse_ip(f.host)) return fail("Plain IP is invalid HELO hostname (RFC 2821)", "plain IP");
    if (policy == HeloPolicy::lenient) return std::nullopt;
    if (!literal) {
        if (f.host.find('.') == std::string_view::npos)
            return fail("HELO name is not fully qualified. Read RFC 2821", "not FQDN");
        for (char c : f.host)
            if (!is_alnum(c) && c != '-' && c != '.')
                return fail("HELO name contains invalid FQDN characters. Read RFC 1035", "invalid FQDN chars");
    }
    if (policy == HeloPolicy::strict && literal)
        return fail("RFC 2821 allows an address literal, but we do not", "bracketed IP");
    return std::nullopt;
}

bool helo_ip_near(std::string_view dns_ip, std::string_view remote_ip) {
    auto a = parse_ip(dns_ip), b = parse_ip(remote_ip);
    if (!a || !b || a->is_v4() != b->is_v4()) return false;
    std::size_t bytes = a->is_v4() ? 15 : 12;   // /24 of the mapped form, or /96
    for (std::size_t i = 0; i < bytes; ++i)
        if (a->bytes[i] != b->bytes[i]) return false;
    return true;
}

bool helo_name_near(std::string_view dns_name, std::string_view helo) {
    if (!dns_name.empty() && dns_name.back() == '.') dns_name.remove_suffix(1);
    if (dns_name.find('.') == std::string_view::npos) return false;   // not a FQDN
    if (iequals(dns_name, helo)) return true;
    return last_two_labels(dns_name) == last_two_labels(helo);
}

}  // namespace asmtpd::proto
