// yaml_reader.cpp - see yaml_reader.hpp. Numbers are parsed here, not by yaml-cpp, so that
// "-5", "1e3", "0x10", "12abc" and overflow each get a precise message instead of an exception.
#include "core/smtp/yaml_reader.hpp"

#include <set>

#include <fmt/format.h>

namespace asmtpd::smtp {
namespace {

std::string lower(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

// Scalars in messages: quoted, shortened, control characters made visible.
std::string quote(std::string_view s) {
    std::string out = "'";
    for (char c : s.substr(0, 60)) {
        auto u = static_cast<unsigned char>(c);
        if (u < 32 || u == 127) out += fmt::format("\\x{:02x}", u);
        else out += c;
    }
    if (s.size() > 60) out += "...";
    return out + "'";
}

}  // namespace

void YamlReader::error(const YamlAt& at, std::string_view message) {
    if (at.path.empty()) {
        errors_.push_back(fmt::format("{}:{}: {}", file_, at.line, message));
    } else {
        errors_.push_back(fmt::format("{}:{}: {}: {}", file_, at.line, at.path, message));
    }
}

std::string YamlReader::where(const YamlAt& at) const {
    return fmt::format("{}:{}: {}", file_, at.line, at.path);
}

int YamlReader::line_of(const YAML::Node& n, int fallback) {
    if (!n.IsDefined() || n.IsNull()) return fallback;
    int l = n.Mark().line;
    return l >= 0 ? l + 1 : fallback;
}

YamlAt YamlReader::child(const YamlAt& parent, std::string_view key, int line) {
    return {parent.path.empty() ? std::string(key) : parent.path + "." + std::string(key), line};
}

YamlAt YamlReader::element(const YamlAt& parent, std::size_t index, int line) {
    return {fmt::format("{}[{}]", parent.path, index), line};
}

std::string YamlReader::describe(const YAML::Node& n) {
    if (!n.IsDefined() || n.IsNull()) return "nothing";
    if (n.IsSequence()) return "a list";
    if (n.IsMap()) return "a mapping";
    return quote(n.Scalar());
}

bool YamlReader::mapping(const YAML::Node& n, const YamlAt& at, std::span<const Field> fields) {
    if (!n.IsDefined() || n.IsNull()) return true;
    if (!n.IsMap()) {
        error(at, "expected a mapping, got " + describe(n));
        return false;
    }
    std::set<std::string> seen;
    for (auto it = n.begin(); it != n.end(); ++it) {
        // Copies, not references: yaml-cpp's iterator hands out a temporary proxy pair.
        const YAML::Node key = it->first;
        const YAML::Node value = it->second;
        int key_line = line_of(key, at.line);
        if (!key.IsScalar()) {
            error({at.path, key_line}, "keys must be plain names, got " + describe(key));
            continue;
        }
        YamlAt here = child(at, key.Scalar(), key_line);
        if (!seen.insert(key.Scalar()).second) {
            error(here, "duplicate key");
            continue;
        }
        const Field* f = nullptr;
        for (const auto& field : fields)
            if (field.key == key.Scalar()) f = &field;
        if (f == nullptr) {
            std::string names;
            for (const auto& field : fields) names += (names.empty() ? "" : ", ") + std::string(field.key);
            error(here, "unknown key (known: " + names + ")");
            continue;
        }
        given_.insert(here.path);
        // Errors about the value point at the value's line when it has its own (a list or
        // mapping that starts below the key), else at the key's.
        f->read(value, {here.path, line_of(value, key_line)});
    }
    return true;
}

proto::SettingNode YamlReader::tree(const YAML::Node& n, const YamlAt& at) {
    proto::SettingNode out;
    out.file = file_;
    out.line = at.line;
    out.path = at.path;
    if (!n.IsDefined() || n.IsNull()) return out;
    if (n.IsScalar()) {
        out.kind = proto::SettingNode::Kind::Scalar;
        out.scalar = n.Scalar();
    } else if (n.IsSequence()) {
        out.kind = proto::SettingNode::Kind::List;
        std::size_t i = 0;
        for (const auto& item : n) {
            out.items.push_back(tree(item, element(at, i, line_of(item, at.line))));
            ++i;
        }
    } else if (n.IsMap()) {
        out.kind = proto::SettingNode::Kind::Map;
        for (auto it = n.begin(); it != n.end(); ++it) {
            const YAML::Node key = it->first;
            const YAML::Node value = it->second;
            const int key_line = line_of(key, at.line);
            if (!key.IsScalar()) {
                error({at.path, key_line}, "keys must be plain names, got " + describe(key));
                continue;
            }
            YamlAt here = child(at, key.Scalar(), key_line);
            out.entries.emplace_back(key.Scalar(), tree(value, {here.path, line_of(value, key_line)}));
            out.entries.back().second.line = key_line;   // messages about an entry name its key's line
        }
    }
    return out;
}

bool YamlReader::scalar_text(const YAML::Node& n, const YamlAt& at, std::string& out) {
    if (!n.IsDefined() || !n.IsScalar()) {
        error(at, "expected a single value, got " + describe(n));
        return false;
    }
    out = n.Scalar();
    return true;
}

bool YamlReader::string(const YAML::Node& n, const YamlAt& at, std::string& out, bool allow_empty) {
    std::string s;
    if (n.IsDefined() && n.IsNull()) {
        // "key:" with nothing after it: an empty string where that is allowed.
        if (allow_empty) {
            out.clear();
            return true;
        }
        error(at, "must not be empty");
        return false;
    }
    if (!scalar_text(n, at, s)) return false;
    if (!allow_empty && s.empty()) {
        error(at, "must not be empty");
        return false;
    }
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 32 || u == 127) {
            error(at, "control characters are not allowed, got " + describe(n));
            return false;
        }
    }
    out = std::move(s);
    return true;
}

bool YamlReader::unsigned_in(const YAML::Node& n, const YamlAt& at, std::uint64_t min, std::uint64_t max,
                             std::uint64_t& out) {
    std::string s;
    if (!scalar_text(n, at, s)) return false;
    bool negative = !s.empty() && s[0] == '-';
    std::string_view digits(s);
    if (negative || (!s.empty() && s[0] == '+')) digits.remove_prefix(1);
    bool all_digits = !digits.empty() && digits.find_first_not_of("0123456789") == std::string_view::npos;
    if (!all_digits) {
        error(at, "expected a whole number, got " + describe(n));
        return false;
    }
    if (negative && digits.find_first_not_of('0') != std::string_view::npos) {
        error(at, fmt::format("must not be negative, got {}", s));
        return false;
    }
    std::uint64_t v = 0;
    for (char c : digits) {
        auto d = static_cast<std::uint64_t>(c - '0');
        if (v > (UINT64_MAX - d) / 10) {
            error(at, fmt::format("out of range, got {} (at most {})", s, max));
            return false;
        }
        v = v * 10 + d;
    }
    if (v < min || v > max) {
        error(at, fmt::format("must be between {} and {}, got {}", min, max, v));
        return false;
    }
    out = v;
    return true;
}

bool YamlReader::boolean(const YAML::Node& n, const YamlAt& at, bool& out) {
    std::string s;
    if (!scalar_text(n, at, s)) return false;
    std::string l = lower(s);
    if (l == "true" || l == "yes" || l == "on") {
        out = true;
        return true;
    }
    if (l == "false" || l == "no" || l == "off") {
        out = false;
        return true;
    }
    error(at, "expected true or false, got " + describe(n));
    return false;
}

bool YamlReader::string_list(const YAML::Node& n, const YamlAt& at, std::vector<std::string>& out,
                             const std::function<std::string(const std::string&)>& valid) {
    if (!n.IsDefined() || n.IsNull()) {
        out.clear();
        return true;
    }
    if (!n.IsSequence()) {
        error(at, "expected a list, got " + describe(n));
        return false;
    }
    std::vector<std::string> items;
    bool ok = true;
    std::size_t i = 0;
    for (const auto& item : n) {
        YamlAt here = element(at, i++, line_of(item, at.line));
        std::string s;
        if (!string(item, here, s, false)) {
            ok = false;
            continue;
        }
        if (valid) {
            if (std::string why = valid(s); !why.empty()) {
                error(here, why);
                ok = false;
                continue;
            }
        }
        items.push_back(std::move(s));
    }
    if (ok) out = std::move(items);
    return ok;
}

}  // namespace asmtpd::smtp
