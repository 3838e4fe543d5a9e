// plugin_list.cpp - config/plugins parser (grammar in plugin_list.hpp).
//
// Start-up input, but still untrusted text: it must never throw and must report every bad
// line as "file:line: message" and keep going, so `asmtpd --check` lists all mistakes at once.
// A bad line is skipped, never half-used. Names that could escape a plugin directory
// ("..", leading "/") are refused here because shared-object plugins map names to paths.
// Pure: no I/O, no logging.
#include "core/proto/plugin_list.hpp"

#include <fmt/format.h>

#include <map>

#include "core/proto/text.hpp"

namespace asmtpd::proto {

namespace {

bool is_wsp(char c) { return c == ' ' || c == '\t'; }

bool name_char(char c) { return is_alnum(c) || c == '_' || c == '/' || c == '.' || c == '-'; }

bool valid_name(std::string_view name) {
    if (name.empty() || name.front() == '/' || name.back() == '/') return false;
    for (char c : name) {
        if (!name_char(c)) return false;
    }
    // No "." or ".." path segment and no empty segment ("a//b").
    std::size_t start = 0;
    while (true) {
        auto slash = name.find('/', start);
        std::string_view seg = name.substr(start, slash == std::string_view::npos ? name.npos : slash - start);
        if (seg.empty() || seg == "." || seg == "..") return false;
        if (slash == std::string_view::npos) return true;
        start = slash + 1;
    }
}

bool valid_instance(std::string_view id) {
    if (id.empty()) return false;
    for (char c : id) {
        if (!is_alnum(c) && c != '_' && c != '-') return false;
    }
    return true;
}

std::vector<std::string> split_words(std::string_view s) {
    std::vector<std::string> words;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && is_wsp(s[i])) ++i;
        std::size_t start = i;
        while (i < s.size() && !is_wsp(s[i])) ++i;
        if (i > start) words.emplace_back(s.substr(start, i - start));
    }
    return words;
}

}  // namespace

PluginList parse_plugin_list(std::string_view text, std::string_view file) {
    PluginList list;
    std::map<std::string, int, std::less<>> seen;  // instance -> line of first use
    int lineno = 0;
    const std::string fname(file);
    auto error = [&](const std::string& msg) { list.errors.push_back(fmt::format("{}:{}: {}", fname, lineno, msg)); };

    while (!text.empty()) {
        ++lineno;
        auto lf = text.find('\n');
        std::string_view line = text.substr(0, lf);
        text.remove_prefix(lf == std::string_view::npos ? text.size() : lf + 1);
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);  // CRLF files

        bool safe = true;
        for (char c : line) {
            auto u = static_cast<unsigned char>(c);
            if (c != '\t' && (u < 0x20 || u > 0x7e)) {
                error(fmt::format("unsafe character 0x{:02x} in plugin line", u));
                safe = false;
                break;
            }
        }
        if (!safe) continue;

        std::vector<std::string> words = split_words(line);
        if (words.empty() || words.front().front() == '#') continue;

        PluginLine pl;
        pl.file = fname;
        pl.line = lineno;
        std::string_view head = words.front();
        auto colon = head.find(':');
        pl.name = std::string(head.substr(0, colon));
        if (!valid_name(pl.name)) {
            error(fmt::format("invalid plugin name '{}'", pl.name));
            continue;
        }
        if (colon != std::string_view::npos) {
            std::string_view id = head.substr(colon + 1);
            if (!valid_instance(id)) {
                error(fmt::format("invalid instance name '{}' (want name:N)", head));
                continue;
            }
        }
        pl.instance = std::string(head);
        if (auto it = seen.find(pl.instance); it != seen.end()) {
            error(fmt::format("duplicate plugin instance '{}' (first at {}:{}); use {}:N for another",
                              pl.instance, fname, it->second, pl.name));
            continue;
        }
        seen.emplace(pl.instance, lineno);
        pl.args.assign(words.begin() + 1, words.end());
        list.plugins.push_back(std::move(pl));
    }
    return list;
}

}  // namespace asmtpd::proto
