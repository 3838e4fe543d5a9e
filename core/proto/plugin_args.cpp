// plugin_args.cpp - strict argument parsing for plugins. See plugin_args.hpp.
#include "core/proto/plugin_args.hpp"

#include <limits>

namespace asmtpd::proto {

namespace {

bool is_space(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

}  // namespace

std::optional<std::string> ArgPairs::parse(const std::vector<std::string>& args,
                                           std::initializer_list<std::string_view> keys) {
    for (std::size_t i = 0; i < args.size(); i += 2) {
        const std::string& key = args[i];
        bool known = false;
        for (auto k : keys) known = known || k == key;
        if (!known) return "unknown argument '" + key + "'";
        if (i + 1 >= args.size()) return "argument '" + key + "' needs a value";
        if (!values_.emplace(key, args[i + 1]).second) return "argument '" + key + "' given twice";
    }
    return std::nullopt;
}

std::optional<std::string> ArgPairs::get(std::string_view key) const {
    auto it = values_.find(key);
    if (it == values_.end()) return std::nullopt;
    return it->second;
}

std::optional<std::uint64_t> parse_count(std::string_view text) {
    if (text.empty()) return std::nullopt;
    std::uint64_t v = 0;
    constexpr auto kMax = std::numeric_limits<std::uint64_t>::max();
    for (char c : text) {
        if (c < '0' || c > '9') return std::nullopt;
        auto d = static_cast<std::uint64_t>(c - '0');
        if (v > (kMax - d) / 10) return std::nullopt;
        v = v * 10 + d;
    }
    return v;
}

std::optional<std::uint64_t> parse_seconds_ms(std::string_view text) {
    auto dot = text.find('.');
    std::string_view whole = text.substr(0, dot);
    std::string_view frac = dot == std::string_view::npos ? std::string_view{} : text.substr(dot + 1);
    if (whole.empty() && frac.empty()) return std::nullopt;
    if (dot != std::string_view::npos && frac.empty()) return std::nullopt;   // "1."
    constexpr std::uint64_t kDayMs = 86400ULL * 1000;
    std::uint64_t seconds = 0;
    if (!whole.empty()) {
        if (whole.size() > 6) return std::nullopt;
        auto w = parse_count(whole);
        if (!w) return std::nullopt;
        seconds = *w;
    }
    std::uint64_t ms = 0, scale = 100;
    for (char c : frac) {
        if (c < '0' || c > '9') return std::nullopt;
        ms += static_cast<std::uint64_t>(c - '0') * scale;   // digits past the third add 0
        scale /= 10;
    }
    std::uint64_t total = seconds * 1000 + ms;
    if (total > kDayMs) return std::nullopt;
    return total;
}

std::pair<std::string_view, std::string_view> split_first_word(std::string_view line) {
    line = trim(line);
    std::size_t i = 0;
    while (i < line.size() && !is_space(line[i])) ++i;
    return {line.substr(0, i), trim(line.substr(i))};
}

}  // namespace asmtpd::proto
