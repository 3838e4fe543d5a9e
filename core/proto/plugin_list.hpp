// plugin_list.hpp - parser for config/plugins, the ordered plugin list (qpsmtpd format).
//
//   file   = *( line LF )
//   line   = [ WSP ] ( comment / entry / "" )
//   comment= "#" *CHAR
//   entry  = name [ ":" instance ] *( 1*WSP arg )      ; name: [A-Za-z0-9_/.-]+
// Only printable ASCII is allowed (qpsmtpd dies on "unsafe characters"); every problem is
// reported as "file:line: message" and parsing goes on so --check can list them all.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::proto {

struct PluginLine {
    std::string name;               // "queue/maildir"
    std::string instance;           // "queue/maildir" or "queue/maildir:2": unique key
    std::vector<std::string> args;  // words after the name
    std::string file;
    int line = 0;
    std::string where() const { return file + ":" + std::to_string(line); }
};

struct PluginList {
    std::vector<PluginLine> plugins;
    std::vector<std::string> errors;   // "file:line: message"
};

PluginList parse_plugin_list(std::string_view text, std::string_view file);

}  // namespace asmtpd::proto
