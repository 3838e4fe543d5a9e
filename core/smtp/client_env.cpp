// client_env.cpp - tcp.env: parsing tcprules source lines and the most-specific-match lookup.
// See client_env.hpp for the grammar and the precedence.
#include "core/smtp/client_env.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "core/proto/text.hpp"
#include "core/proto/ip_list.hpp"

namespace asmtpd::smtp {

namespace {

bool valid_name(std::string_view n) {
    if (n.empty()) return false;
    for (std::size_t i = 0; i < n.size(); ++i) {
        char c = n[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
        if (!ok) return false;
    }
    return true;
}

// Where the address ends: the first ':' followed by "allow" or "deny" (IPv6 addresses hold ':').
std::optional<std::size_t> find_colon(std::string_view line) {
    for (std::size_t i = line.find(':'); i != std::string_view::npos; i = line.find(':', i + 1)) {
        std::string_view rest = line.substr(i + 1);
        if (rest.substr(0, 5) == "allow" || rest.substr(0, 4) == "deny") return i;
    }
    return std::nullopt;
}

// ",NAME=value..." after allow/deny. Returns an error message or nullopt.
std::optional<std::string> parse_vars(std::string_view s, std::vector<std::pair<std::string, std::string>>& out) {
    while (!s.empty()) {
        if (s.front() != ',') return fmt::format("expected ',' before '{}'", s);
        s.remove_prefix(1);
        auto eq = s.find('=');
        auto comma = s.find(',');
        if (!s.empty() && s.front() == '!') return std::string("',!VAR' (unset) is not supported");
        if (eq == std::string_view::npos || (comma != std::string_view::npos && comma < eq))
            return fmt::format("expected NAME=value in '{}'", s.substr(0, comma));
        std::string_view name = s.substr(0, eq);
        if (!valid_name(name)) return fmt::format("invalid variable name '{}'", name);
        s.remove_prefix(eq + 1);
        std::string value;
        if (!s.empty() && (s.front() == '"' || s.front() == '\'')) {
            char q = s.front();
            auto close = s.find(q, 1);
            if (close == std::string_view::npos) return fmt::format("{}: unterminated {} quote", name, q);
            value = std::string(s.substr(1, close - 1));
            s.remove_prefix(close + 1);
            if (!s.empty() && s.front() != ',') return fmt::format("{}: text after the closing quote", name);
        } else {
            auto end = s.find(',');
            value = std::string(s.substr(0, end));
            s.remove_prefix(end == std::string_view::npos ? s.size() : end);
        }
        if (value.find('\0') != std::string::npos) return fmt::format("{}: NUL in value", name);
        out.emplace_back(std::string(name), std::move(value));
    }
    return std::nullopt;
}

// "1.2.3.4-20": the last octet as a range. nullopt when it is not a range.
std::optional<std::vector<proto::IpAddress>> parse_range(std::string_view a, std::string& error) {
    auto dash = a.find('-');
    if (dash == std::string_view::npos) return std::nullopt;
    auto dot = a.rfind('.', dash);
    if (dot == std::string_view::npos) {
        error = "range needs an IPv4 address (1.2.3.4-20)";
        return std::vector<proto::IpAddress>{};
    }
    auto number = [](std::string_view t) -> int {
        if (t.empty() || t.size() > 3) return -1;
        int v = 0;
        for (char c : t) {
            if (c < '0' || c > '9') return -1;
            v = v * 10 + (c - '0');
        }
        return v > 255 ? -1 : v;
    };
    int lo = number(a.substr(dot + 1, dash - dot - 1)), hi = number(a.substr(dash + 1));
    std::string base(a.substr(0, dot + 1));
    if (lo < 0 || hi < 0 || lo > hi || !proto::parse_ip(base + "0") || !proto::parse_ip(base + std::to_string(lo))) {
        error = "bad range (1.2.3.4-20: last octet, low <= high <= 255)";
        return std::vector<proto::IpAddress>{};
    }
    std::vector<proto::IpAddress> out;
    for (int i = lo; i <= hi; ++i) out.push_back(*proto::parse_ip(base + std::to_string(i)));
    return out;
}

bool host_prefix(const proto::Cidr& c) { return c.prefix == 128; }

}  // namespace

ClientEnv ClientEnv::parse(std::string_view text, std::string_view file, std::vector<std::string>& errors) {
    ClientEnv env;
    std::size_t lineno = 0, pos = 0;
    auto fail = [&](std::string msg) { errors.push_back(fmt::format("{}:{}: {}", file, lineno, msg)); };
    while (pos < text.size()) {
        ++lineno;
        auto nl = text.find('\n', pos);
        std::string_view line = text.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
        pos = nl == std::string_view::npos ? text.size() : nl + 1;
        while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) line.remove_suffix(1);
        if (line.empty() || line.front() == '#') continue;

        auto colon = find_colon(line);
        if (!colon) {
            fail("expected address:allow or address:deny");
            continue;
        }
        Rule rule;
        rule.where = fmt::format("{}:{}", file, lineno);
        rule.address = std::string(line.substr(0, *colon));
        std::string_view instr = line.substr(*colon + 1);
        rule.allow = instr.substr(0, 5) == "allow";
        instr.remove_prefix(rule.allow ? 5 : 4);
        if (auto err = parse_vars(instr, rule.vars)) {
            fail(*err);
            continue;
        }
        const std::size_t idx = env.rules_.size();
        const std::string& a = rule.address;
        auto duplicate = [&](std::size_t first) {
            fail(fmt::format("duplicate rule for '{}' (first at {})", a, env.rules_[first].where));
        };

        if (a.empty()) {
            if (env.default_) { duplicate(*env.default_); continue; }
            env.default_ = idx;
        } else if (a.front() == '=') {
            std::string h = proto::to_lower(std::string_view(a).substr(1));
            if (h.empty()) {
                if (env.any_host_) { duplicate(*env.any_host_); continue; }
                env.any_host_ = idx;
            } else if (h.front() == '.') {
                auto it = std::find_if(env.host_suffixes_.begin(), env.host_suffixes_.end(),
                                       [&](const auto& p) { return p.first == h; });
                if (it != env.host_suffixes_.end()) { duplicate(it->second); continue; }
                env.host_suffixes_.emplace_back(h, idx);
            } else {
                if (auto it = env.hosts_.find(h); it != env.hosts_.end()) { duplicate(it->second); continue; }
                env.hosts_.emplace(h, idx);
            }
        } else if (a.find('@') != std::string::npos) {
            fail("user@address rules need ident (TCPREMOTEINFO), which asmtpd does not look up");
            continue;
        } else {
            std::string range_error;
            auto range = parse_range(a, range_error);
            if (!range_error.empty()) {
                fail(range_error);
                continue;
            }
            std::vector<proto::IpAddress> hosts;
            std::optional<proto::Cidr> net;
            if (range) {
                hosts = *range;
            } else if (auto c = proto::parse_ip_entry(a)) {
                if (host_prefix(*c)) hosts.push_back(c->network);
                else net = *c;
            } else {
                fail(fmt::format("'{}' is not an address, prefix, range, network or =host", a));
                continue;
            }
            bool dup = false;
            for (const auto& h : hosts)
                if (auto it = env.exact_.find(h); it != env.exact_.end() && !dup) {
                    duplicate(it->second);
                    dup = true;
                }
            if (net)
                for (const auto& [n, i] : env.nets_)
                    if (n == *net && !dup) {
                        duplicate(i);
                        dup = true;
                    }
            if (dup) continue;
            for (const auto& h : hosts) env.exact_.emplace(h, idx);
            if (net) env.nets_.emplace_back(*net, idx);
        }
        env.rules_.push_back(std::move(rule));
    }
    std::stable_sort(env.nets_.begin(), env.nets_.end(),
                     [](const auto& x, const auto& y) { return x.first.prefix > y.first.prefix; });
    std::stable_sort(env.host_suffixes_.begin(), env.host_suffixes_.end(),
                     [](const auto& x, const auto& y) { return x.first.size() > y.first.size(); });
    return env;
}

std::optional<ClientEnv> ClientEnv::load(const std::string& path, std::vector<std::string>& errors) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        errors.push_back(path + ":0: cannot read the client access map");
        return std::nullopt;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    return parse(ss.str(), path, errors);
}

ClientEnv::Match ClientEnv::lookup(std::string_view ip, std::string_view host) const {
    std::optional<std::size_t> hit;
    auto addr = proto::parse_ip(ip);
    std::string h = proto::to_lower(host);
    if (addr)
        if (auto it = exact_.find(*addr); it != exact_.end()) hit = it->second;
    if (!hit && !h.empty())
        if (auto it = hosts_.find(h); it != hosts_.end()) hit = it->second;
    if (!hit && addr)
        for (const auto& [net, i] : nets_)
            if (net.contains(*addr)) {
                hit = i;
                break;
            }
    if (!hit && !h.empty())
        for (const auto& [suffix, i] : host_suffixes_)
            if (h.size() > suffix.size() && h.compare(h.size() - suffix.size(), suffix.size(), suffix) == 0) {
                hit = i;
                break;
            }
    if (!hit && !h.empty()) hit = any_host_;
    if (!hit) hit = default_;

    Match m;
    if (!hit) return m;
    m.rule = &rules_[*hit];
    m.allowed = m.rule->allow;
    for (const auto& [name, value] : m.rule->vars) m.vars[name] = value;
    return m;
}

}  // namespace asmtpd::smtp
