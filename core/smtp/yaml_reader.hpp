// yaml_reader.hpp - typed, error-collecting reads from yaml-cpp nodes for settings.cpp.
//
// Every read either stores a valid value or records one "file:line: key.path: message" error
// and leaves the default in place, so one pass reports every problem of a file. Never throws
// and never uses yaml-cpp's as<T>() or operator[] (both throw or insert); only node types,
// Scalar() and iteration. Lines come from the node's Mark(); a null value has no useful mark,
// so callers pass the key's line as the fallback.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "core/proto/setting_tree.hpp"

namespace asmtpd::smtp {

// Where a value sits: its key path for messages and the best line known for it.
struct YamlAt {
    std::string path;   // "limits.max_rcpts", "listen[1].port"
    int line = 0;       // 1-based
};

class YamlReader {
public:
    YamlReader(std::string file, std::vector<std::string>& errors) : file_(std::move(file)), errors_(errors) {}

    void error(const YamlAt& at, std::string_view message);
    // "FILE:LINE: PATH", the prefix error() gives a message at `at`.
    std::string where(const YamlAt& at) const;
    std::size_t error_count() const { return errors_.size(); }
    // The node's own line when it has one, else the fallback (a null value's mark is useless).
    static int line_of(const YAML::Node& n, int fallback);
    static YamlAt child(const YamlAt& parent, std::string_view key, int line);
    static YamlAt element(const YamlAt& parent, std::size_t index, int line);
    // "a list", "a mapping", "nothing", or the quoted scalar, for "expected X, got Y".
    static std::string describe(const YAML::Node& n);

    struct Field {
        std::string_view key;
        std::function<void(const YAML::Node& value, const YamlAt& at)> read;
    };
    // Calls the matching field for every key of a mapping. Unknown keys, duplicate keys and
    // non-scalar keys are errors. A null node counts as an empty mapping (every key commented
    // out). Returns false (after reporting) when the node is not a mapping.
    bool mapping(const YAML::Node& n, const YamlAt& at, std::span<const Field> fields);
    // Every known key path a mapping() call met ("limits.databytes"), so a later source of
    // the same setting (a qpsmtpd control file) knows the file chose the value itself.
    const std::set<std::string>& given() const { return given_; }
    bool mapping(const YAML::Node& n, const YamlAt& at, std::initializer_list<Field> fields) {
        return mapping(n, at, std::span<const Field>(fields.begin(), fields.size()));
    }

    // Scalars. Each returns true and stores into out, or reports and returns false.
    bool string(const YAML::Node& n, const YamlAt& at, std::string& out, bool allow_empty);
    bool unsigned_in(const YAML::Node& n, const YamlAt& at, std::uint64_t min, std::uint64_t max,
                     std::uint64_t& out);
    template <class T>
    bool number(const YAML::Node& n, const YamlAt& at, std::uint64_t min, std::uint64_t max, T& out) {
        std::uint64_t v = 0;
        if (!unsigned_in(n, at, min, max, v)) return false;
        out = static_cast<T>(v);
        return true;
    }
    bool boolean(const YAML::Node& n, const YamlAt& at, bool& out);
    template <class E>
    bool choice(const YAML::Node& n, const YamlAt& at, std::initializer_list<std::pair<std::string_view, E>> options,
                E& out) {
        std::string s;
        if (!scalar_text(n, at, s)) return false;
        std::string names;
        for (const auto& [name, value] : options) {
            if (s == name) {
                out = value;
                return true;
            }
            names += names.empty() ? "" : ", ";
            names += name;
        }
        error(at, "expected one of " + names + ", got " + describe(n));
        return false;
    }
    // A list of scalars; a null node is an empty list. Each element is checked by `valid`
    // (message on failure, empty string when fine) and reported with its own line.
    bool string_list(const YAML::Node& n, const YamlAt& at, std::vector<std::string>& out,
                     const std::function<std::string(const std::string&)>& valid);
    // Any subtree as a plain value tree with its places (a plugin's own section); non-scalar
    // mapping keys are reported.
    proto::SettingNode tree(const YAML::Node& n, const YamlAt& at);
    // A scalar's text as written ("0660" stays octal digits), or reports and returns false.
    bool scalar_text(const YAML::Node& n, const YamlAt& at, std::string& out);

private:

    std::string file_;
    std::vector<std::string>& errors_;
    std::set<std::string> given_;
};

}  // namespace asmtpd::smtp
