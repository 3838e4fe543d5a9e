// setting_tree.hpp - a plugin's own section of asmtpd.yaml as a plain value tree, so plugins
// read their settings without the daemon knowing their vocabulary or linking a YAML parser.
//
// The daemon converts the YAML subtree of every top-level key a plugin declares
// (CatalogEntry::settings_key) into a SettingNode, keeping where each value was written, and
// the plugin validates it in init() with messages that name that place.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace asmtpd::proto {

struct SettingNode {
    enum class Kind { Null, Scalar, List, Map };
    // Declared here, defaulted below the class: a Map holds pairs of SettingNode, and clang with
    // libstdc++ rejects the implicit members, instantiated while SettingNode is incomplete.
    SettingNode();
    SettingNode(const SettingNode&);
    SettingNode(SettingNode&&) noexcept;
    SettingNode& operator=(const SettingNode&);
    SettingNode& operator=(SettingNode&&) noexcept;
    ~SettingNode();

    Kind kind = Kind::Null;
    std::string scalar;                                         // Scalar
    std::vector<SettingNode> items;                             // List
    std::vector<std::pair<std::string, SettingNode>> entries;   // Map, in file order
    std::string file;                                           // "conf/asmtpd.yaml"
    int line = 0;                                               // 1-based
    std::string path;                                           // "spp_programs.x.timeout"

    bool is_null() const { return kind == Kind::Null; }
    // "conf/asmtpd.yaml:3: spp_programs.x.timeout: <message>", the daemon's start-up error form.
    std::string error(const std::string& message) const {
        return file + ":" + std::to_string(line) + ": " + path + ": " + message;
    }
    // "a mapping", "a list", "nothing" or the quoted scalar, for "expected X, got Y".
    std::string describe() const {
        switch (kind) {
            case Kind::Null: return "nothing";
            case Kind::List: return "a list";
            case Kind::Map: return "a mapping";
            case Kind::Scalar: break;
        }
        return "'" + scalar + "'";
    }
};

inline SettingNode::SettingNode() = default;
inline SettingNode::SettingNode(const SettingNode&) = default;
inline SettingNode::SettingNode(SettingNode&&) noexcept = default;
inline SettingNode& SettingNode::operator=(const SettingNode&) = default;
inline SettingNode& SettingNode::operator=(SettingNode&&) noexcept = default;
inline SettingNode::~SettingNode() = default;

}  // namespace asmtpd::proto
