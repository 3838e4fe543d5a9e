// spf_record.cpp - SPF record text -> Record (RFC 7208 §4.6, §5, §6, ABNF in §12).
#include "core/proto/spf_record.hpp"

#include <array>

#include "core/proto/spf_macro.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::proto::spf {

namespace {

struct Named {
    std::string_view name;
    Mechanism mechanism;
};
constexpr std::array<Named, 8> kMechanisms{{{"all", Mechanism::All},
                                            {"include", Mechanism::Include},
                                            {"a", Mechanism::A},
                                            {"mx", Mechanism::Mx},
                                            {"ptr", Mechanism::Ptr},
                                            {"ip4", Mechanism::Ip4},
                                            {"ip6", Mechanism::Ip6},
                                            {"exists", Mechanism::Exists}}};

// ip4-cidr-length: "0" or 1..32 without leading zero; ip6: up to 128.
std::optional<unsigned> parse_length(std::string_view s, unsigned max) {
    if (s.empty() || s.size() > 3 || (s.size() > 1 && s[0] == '0')) return std::nullopt;
    unsigned v = 0;
    for (char c : s) {
        if (!is_digit(c)) return std::nullopt;
        v = v * 10 + unsigned(c - '0');
    }
    if (v > max) return std::nullopt;
    return v;
}

// qnum "." qnum "." qnum "." qnum, each 0..255 without leading zeros.
bool is_ip4_network(std::string_view s) {
    int parts = 0;
    std::size_t start = 0;
    for (std::size_t i = 0; i <= s.size(); ++i) {
        if (i < s.size() && s[i] != '.') continue;
        if (!parse_length(s.substr(start, i - start), 255)) return false;
        ++parts;
        start = i + 1;
    }
    return parts == 4;
}

// Cuts "/N" (and for a/mx "//N") off the end of a mechanism's argument. The ABNF is
// ambiguous here ("/" is also a macro-literal); like every implementation we take a trailing
// "/digits" as a CIDR length.
struct CidrSuffix {
    std::string_view rest;
    std::optional<std::string_view> v4, v6;
};
CidrSuffix cut_cidr(std::string_view arg, bool dual) {
    CidrSuffix out{arg, {}, {}};
    auto trailing = [](std::string_view s, std::string_view lead) -> std::optional<std::size_t> {
        std::size_t d = s.size();
        while (d > 0 && is_digit(s[d - 1])) --d;
        if (d == s.size() || d < lead.size() || s.substr(d - lead.size(), lead.size()) != lead) return std::nullopt;
        return d - lead.size();
    };
    if (dual) {
        if (auto at = trailing(out.rest, "//")) {
            out.v6 = out.rest.substr(*at + 2);
            out.rest = out.rest.substr(0, *at);
        }
    }
    if (auto at = trailing(out.rest, "/"); at && !(out.rest.size() > *at + 1 && *at > 0 && out.rest[*at - 1] == '/')) {
        out.v4 = out.rest.substr(*at + 1);
        out.rest = out.rest.substr(0, *at);
    }
    return out;
}

std::optional<std::string> check_domain_spec(std::string_view spec) {
    if (auto e = macro_syntax_error(spec, MacroUse::DomainSpec)) return e;
    return std::nullopt;
}

// One directive term; returns the error text on failure.
std::optional<std::string> parse_directive(std::string_view term, Directive& d) {
    d.text = std::string(term);
    std::string_view t = term;
    switch (t.front()) {
        case '+': d.qualifier = Result::Pass; t.remove_prefix(1); break;
        case '-': d.qualifier = Result::Fail; t.remove_prefix(1); break;
        case '~': d.qualifier = Result::SoftFail; t.remove_prefix(1); break;
        case '?': d.qualifier = Result::Neutral; t.remove_prefix(1); break;
        default: break;
    }
    std::size_t n = 0;
    while (n < t.size() && is_alnum(t[n])) ++n;
    std::string name = to_lower(t.substr(0, n));
    std::string_view arg = t.substr(n);
    const Named* found = nullptr;
    for (const auto& m : kMechanisms)
        if (m.name == name) found = &m;
    if (!found) return "unknown mechanism '" + std::string(term) + "'";
    d.mechanism = found->mechanism;

    switch (d.mechanism) {
        case Mechanism::All:
            if (!arg.empty()) return "'all' takes no argument: '" + std::string(term) + "'";
            return std::nullopt;
        case Mechanism::Include:
        case Mechanism::Exists:
        case Mechanism::Ptr: {
            if (arg.empty() && d.mechanism == Mechanism::Ptr) return std::nullopt;
            if (arg.size() < 2 || arg[0] != ':') return "'" + name + "' needs ':domain': '" + std::string(term) + "'";
            d.domain_spec = std::string(arg.substr(1));
            return check_domain_spec(d.domain_spec);
        }
        case Mechanism::A:
        case Mechanism::Mx: {
            auto cut = cut_cidr(arg, true);
            if (cut.v4) {
                auto v = parse_length(*cut.v4, 32);
                if (!v) return "bad IPv4 prefix length in '" + std::string(term) + "'";
                d.cidr4 = *v;
            }
            if (cut.v6) {
                auto v = parse_length(*cut.v6, 128);
                if (!v) return "bad IPv6 prefix length in '" + std::string(term) + "'";
                d.cidr6 = *v;
            }
            if (cut.rest.empty()) return std::nullopt;
            if (cut.rest.size() < 2 || cut.rest[0] != ':') return "unknown mechanism '" + std::string(term) + "'";
            d.domain_spec = std::string(cut.rest.substr(1));
            return check_domain_spec(d.domain_spec);
        }
        case Mechanism::Ip4:
        case Mechanism::Ip6: {
            bool v4 = d.mechanism == Mechanism::Ip4;
            if (arg.size() < 2 || arg[0] != ':') return "'" + name + "' needs ':address': '" + std::string(term) + "'";
            auto cut = cut_cidr(arg.substr(1), false);
            unsigned len = v4 ? 32 : 128;
            if (cut.v4) {
                auto v = parse_length(*cut.v4, len);
                if (!v) return "bad prefix length in '" + std::string(term) + "'";
                len = *v;
            }
            std::string addr(cut.rest);
            bool good = v4 ? is_ip4_network(addr)
                           : (addr.find(':') != std::string::npos && addr.find('%') == std::string::npos && parse_ip(addr));
            auto net = good ? parse_cidr(addr + "/" + std::to_string(len)) : std::nullopt;
            if (!net) return "bad address in '" + std::string(term) + "'";
            d.network = *net;
            if (v4) d.cidr4 = len;
            else d.cidr6 = len;
            return std::nullopt;
        }
    }
    return "unknown mechanism '" + std::string(term) + "'";
}

// name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ); the length of a leading name followed
// by '=', or 0 when the term is not a modifier.
std::size_t modifier_name_length(std::string_view term) {
    if (term.empty() || !is_alpha(term[0])) return 0;
    std::size_t n = 1;
    while (n < term.size() && (is_alnum(term[n]) || term[n] == '-' || term[n] == '_' || term[n] == '.')) ++n;
    return (n < term.size() && term[n] == '=') ? n : 0;
}

}  // namespace

std::string_view to_string(Result r) {
    switch (r) {
        case Result::None: return "none";
        case Result::Neutral: return "neutral";
        case Result::Pass: return "pass";
        case Result::Fail: return "fail";
        case Result::SoftFail: return "softfail";
        case Result::TempError: return "temperror";
        case Result::PermError: return "permerror";
    }
    return "none";
}

std::string_view to_string(Mechanism m) {
    for (const auto& n : kMechanisms)
        if (n.mechanism == m) return n.name;
    return "all";
}

bool is_spf_record(std::string_view txt) {
    return istarts_with(txt, "v=spf1") && (txt.size() == 6 || txt[6] == ' ');
}

ParsedRecord parse_record(std::string_view txt) {
    ParsedRecord out;
    if (!is_spf_record(txt)) {
        out.error = "not an SPF record";
        return out;
    }
    Record rec;
    std::size_t i = 6;
    while (i < txt.size()) {
        if (txt[i] == ' ') {
            ++i;
            continue;
        }
        std::size_t end = txt.find(' ', i);
        if (end == std::string_view::npos) end = txt.size();
        std::string_view term = txt.substr(i, end - i);
        i = end;
        for (char c : term) {
            if (c < 0x21 || c > 0x7e) {
                out.error = "invalid character in term '" + std::string(term) + "'";
                return out;
            }
        }
        if (std::size_t n = modifier_name_length(term)) {
            std::string name = to_lower(term.substr(0, n));
            std::string value(term.substr(n + 1));
            if (name == "redirect" || name == "exp") {
                auto& slot = name == "redirect" ? rec.redirect : rec.exp;
                if (slot) {
                    out.error = name + "= appears more than once";
                    return out;
                }
                if (auto e = check_domain_spec(value)) {
                    out.error = name + "=: " + *e;
                    return out;
                }
                slot = value;
            } else if (auto e = macro_syntax_error(value, MacroUse::Modifier)) {
                out.error = "modifier " + name + "=: " + *e;
                return out;
            }
            continue;
        }
        Directive d;
        if (auto e = parse_directive(term, d)) {
            out.error = *e;
            return out;
        }
        rec.directives.push_back(std::move(d));
    }
    out.record = std::move(rec);
    return out;
}

}  // namespace asmtpd::proto::spf
