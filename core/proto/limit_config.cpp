// limit_config.cpp - see limit_config.hpp.
#include "core/proto/limit_config.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "core/proto/cidr.hpp"
#include "core/proto/plugin_args.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::proto {

namespace {

constexpr std::uint64_t kMaxLimit = 1000000000;
constexpr std::uint64_t kMaxPeriodS = 366ull * 86400;

enum class Shape { Host, Address, Count, Recipients };

struct SectionInfo {
    std::string_view name;
    LimitSection LimitConfig::*member;
    Shape shape;
    bool history;   // a NAME_history section applies
};

constexpr std::array<SectionInfo, 10> kSections{{
    {"concurrency", &LimitConfig::concurrency, Shape::Host, true},
    {"rate_conn", &LimitConfig::rate_conn, Shape::Host, true},
    {"rate_rcpt_host", &LimitConfig::rate_rcpt_host, Shape::Host, true},
    {"rate_rcpt_sender", &LimitConfig::rate_rcpt_sender, Shape::Address, false},
    {"rate_rcpt", &LimitConfig::rate_rcpt, Shape::Address, false},
    {"rate_rcpt_null", &LimitConfig::rate_rcpt_null, Shape::Address, false},
    {"recipients", &LimitConfig::recipients, Shape::Recipients, true},
    {"messages", &LimitConfig::messages, Shape::Count, false},
    {"unrecognized_commands", &LimitConfig::unrecognized_commands, Shape::Count, false},
    {"errors", &LimitConfig::errors, Shape::Count, false},
}};

const SectionInfo* find_section(std::string_view name) {
    for (const auto& s : kSections)
        if (s.name == name) return &s;
    return nullptr;
}

std::optional<std::uint64_t> parse_max(std::string_view text) {
    auto n = parse_count(text);
    if (!n || *n > kMaxLimit) return std::nullopt;
    return n;
}

std::optional<bool> parse_bool(std::string_view v) {
    std::string s = to_lower(v);
    if (s == "true" || s == "yes" || s == "on" || s == "1") return true;
    if (s == "false" || s == "no" || s == "off" || s == "0") return false;
    return std::nullopt;
}

bool is_scalar(const SettingNode& n) { return n.kind == SettingNode::Kind::Scalar; }

std::optional<std::string> read_section(const SettingNode& node, const SectionInfo& info, LimitSection& s) {
    s.enabled = true;
    if (node.is_null()) return std::nullopt;
    if (node.kind != SettingNode::Kind::Map) return node.error("expected a mapping, got " + node.describe());
    for (const auto& [key, v] : node.entries) {
        if (!is_scalar(v)) return v.error("expected a value, got " + v.describe());
        const std::string& t = v.scalar;
        if (key == "enabled") {
            auto b = parse_bool(t);
            if (!b) return v.error("expected true or false, got " + v.describe());
            s.enabled = *b;
        } else if (info.shape == Shape::Count || info.shape == Shape::Recipients) {
            if (key != "max" && !(info.shape == Shape::Recipients && key == "max_relaying"))
                return v.error(info.shape == Shape::Recipients ? "unknown key (known: enabled, max, max_relaying)"
                                                               : "unknown key (known: enabled, max)");
            auto n = parse_max(t);
            if (!n) return v.error("expected a whole number, got " + v.describe());
            if (key == "max") s.dflt = LimitRate{*n, 0};
            else s.max_relaying = *n;
        } else if (key == "ttl" && &info == &kSections[0]) {
            auto ms = parse_seconds_ms(t);
            if (!ms || *ms < 1000) return v.error("expected seconds (1 to 86400), got " + v.describe());
            s.ttl_ms = *ms;
        } else {
            auto r = parse_limit_rate(t);
            if (!r) return v.error("expected LIMIT[/PERIOD[s|m|h|d]] (e.g. 5/5m), got " + v.describe());
            if (key == "default" || key == "max") s.dflt = *r;
            else if (key.empty()) return v.error("empty lookup");
            else s.entries[to_lower(key)] = *r;
        }
    }
    return std::nullopt;
}

std::optional<std::string> read_history(const SettingNode& node, LimitHistory& h) {
    h.enabled = true;
    if (node.is_null()) return std::nullopt;
    if (node.kind != SettingNode::Kind::Map) return node.error("expected a mapping, got " + node.describe());
    for (const auto& [key, v] : node.entries) {
        if (!is_scalar(v)) return v.error("expected a value, got " + v.describe());
        if (key == "enabled") {
            auto b = parse_bool(v.scalar);
            if (!b) return v.error("expected true or false, got " + v.describe());
            h.enabled = *b;
        } else if (key == "plugin") {
            // Haraka names the history plugin; here it is always the karma_score note.
        } else if (key == "good" || key == "bad" || key == "none") {
            auto r = parse_limit_rate(v.scalar);
            if (!r) return v.error("expected LIMIT[/PERIOD[s|m|h|d]], got " + v.describe());
            (key == "good" ? h.good : key == "bad" ? h.bad : h.none) = *r;
        } else {
            return v.error("unknown key (known: enabled, plugin, good, bad, none)");
        }
    }
    return std::nullopt;
}

}  // namespace

std::optional<LimitRate> parse_limit_rate(std::string_view text) {
    auto slash = text.find('/');
    auto limit = parse_max(text.substr(0, slash));
    if (!limit) return std::nullopt;
    LimitRate r{*limit, 60000};
    if (slash == std::string_view::npos) return r;
    std::string_view p = text.substr(slash + 1);
    std::uint64_t unit = 1;
    if (!p.empty()) {
        switch (p.back()) {
            case 's': case 'S': unit = 1; p.remove_suffix(1); break;
            case 'm': case 'M': unit = 60; p.remove_suffix(1); break;
            case 'h': case 'H': unit = 3600; p.remove_suffix(1); break;
            case 'd': case 'D': unit = 86400; p.remove_suffix(1); break;
            default: break;
        }
    }
    auto qty = parse_count(p);
    if (!qty || *qty == 0 || *qty > kMaxPeriodS || *qty * unit > kMaxPeriodS) return std::nullopt;
    r.period_ms = *qty * unit * 1000;
    return r;
}

std::optional<LimitRate> LimitHistory::pick(std::optional<std::int64_t> score) const {
    if (!enabled || !score) return std::nullopt;
    if (*score > 0) return good;
    if (*score < 0) return bad;
    return none;
}

std::string limit_normalized_ip(std::string_view ip) {
    auto a = parse_ip(ip);
    if (!a) return std::string(ip);
    if (a->is_v4()) return a->to_string();
    std::string out;
    for (int i = 0; i < 16; i += 2) {
        char buf[8];
        std::snprintf(buf, sizeof buf, "%x", (a->bytes[i] << 8) | a->bytes[i + 1]);
        if (i) out += ':';
        out += buf;
    }
    return out;
}

std::optional<LimitMatch> LimitSection::for_host(std::string_view ip, std::string_view host,
                                                 std::optional<std::int64_t> karma_score) const {
    const std::string full = limit_normalized_ip(ip);
    const char sep = full.find(':') != std::string::npos ? ':' : '.';
    for (std::string part = full;;) {
        if (auto it = entries.find(part); it != entries.end()) return LimitMatch{part, it->second};
        auto cut = part.rfind(sep);
        if (cut == std::string::npos) break;
        part.resize(cut);
    }
    for (std::string name = to_lower(host); !name.empty();) {
        if (auto it = entries.find(name); it != entries.end()) return LimitMatch{name, it->second};
        auto dot = name.find('.');
        if (dot == std::string::npos) break;
        name.erase(0, dot + 1);
    }
    if (auto h = history.pick(karma_score)) return LimitMatch{full, *h};
    if (dflt) return LimitMatch{full, *dflt};
    return std::nullopt;
}

bool LimitSection::by_address_only() const {
    if (history.enabled && (history.good || history.bad || history.none)) return false;
    for (const auto& [key, rate] : entries)
        if (key.find(':') == std::string::npos &&
            std::any_of(key.begin(), key.end(), [](char ch) { return ch >= 'a' && ch <= 'z'; }))
            return false;   // a name (IPv6 entries have ':'; IPv4 ones no letter)
    return true;
}

std::optional<LimitMatch> LimitSection::for_address(std::string_view address) const {
    std::string addr = to_lower(address);
    if (addr.empty()) addr = "<>";
    if (auto it = entries.find(addr); it != entries.end()) return LimitMatch{addr, it->second};
    if (auto at = addr.rfind('@'); at != std::string::npos) {
        for (std::string name = addr.substr(at + 1); !name.empty();) {
            if (auto it = entries.find(name); it != entries.end()) return LimitMatch{name, it->second};
            auto dot = name.find('.');
            if (dot == std::string::npos) break;
            name.erase(0, dot + 1);
        }
    }
    if (dflt) return LimitMatch{addr, *dflt};
    return std::nullopt;
}

std::optional<std::string> parse_limit_args(const std::vector<std::string>& args, LimitConfig& out) {
    if (args.size() % 2) return "expected KEY VALUE pairs, '" + args.back() + "' has no value";
    for (std::size_t i = 0; i < args.size(); i += 2) {
        const std::string& key = args[i];
        const std::string& v = args[i + 1];
        if (key == "on_error") {
            if (v != "accept" && v != "defer") return "on_error: expected accept or defer, got '" + v + "'";
            out.fail_defer = v == "defer";
        } else if (key == "timeout" || key == "tarpit_delay") {
            auto ms = parse_seconds_ms(v);
            if (!ms || (key == "timeout" && *ms == 0)) return key + ": expected seconds, got '" + v + "'";
            (key == "timeout" ? out.timeout_ms : out.tarpit_delay_ms) = *ms;
        } else if (const auto* s = find_section(key)) {
            LimitSection& sec = out.*(s->member);
            if (s->shape == Shape::Count || s->shape == Shape::Recipients) {
                auto n = parse_max(v);
                if (!n) return key + ": expected a whole number, got '" + v + "'";
                sec.dflt = LimitRate{*n, 0};
            } else {
                auto r = parse_limit_rate(v);
                if (!r) return key + ": expected LIMIT[/PERIOD[s|m|h|d]] (e.g. 5/5m), got '" + v + "'";
                sec.dflt = *r;
            }
            sec.enabled = true;
        } else {
            return "unknown argument '" + key +
                   "' (known: on_error, timeout, tarpit_delay, concurrency, rate_conn, rate_rcpt_host, "
                   "rate_rcpt_sender, rate_rcpt, rate_rcpt_null, recipients, messages, unrecognized_commands, errors)";
        }
    }
    return std::nullopt;
}

std::optional<std::string> parse_limit_settings(const SettingNode& section, LimitConfig& out) {
    if (section.is_null()) return std::nullopt;
    if (section.kind != SettingNode::Kind::Map) return section.error("expected a mapping, got " + section.describe());
    for (const auto& [key, v] : section.entries) {
        if (key == "on_error" || key == "timeout" || key == "tarpit_delay") {
            if (!is_scalar(v)) return v.error("expected a value, got " + v.describe());
            if (auto e = parse_limit_args({key, v.scalar}, out)) return v.error(e->substr(e->find(':') + 2));
        } else if (const auto* s = find_section(key)) {
            if (auto e = read_section(v, *s, out.*(s->member))) return e;
        } else if (key.ends_with("_history") && find_section(key.substr(0, key.size() - 8)) &&
                   find_section(key.substr(0, key.size() - 8))->history) {
            if (auto e = read_history(v, (out.*(find_section(key.substr(0, key.size() - 8))->member)).history))
                return e;
        } else {
            return v.error("unknown key (known: on_error, timeout, tarpit_delay, concurrency, rate_conn, "
                           "rate_rcpt_host, rate_rcpt_sender, rate_rcpt, rate_rcpt_null, recipients, messages, "
                           "unrecognized_commands, errors, and the _history sections of concurrency, rate_conn, "
                           "rate_rcpt_host, recipients)");
        }
    }
    return std::nullopt;
}

}  // namespace asmtpd::proto
