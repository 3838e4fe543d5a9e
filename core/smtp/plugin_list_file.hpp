// plugin_list_file.hpp - reads config/plugins with qpsmtpd's "$include FILE" lines.
//
// "$include FILE" (FILE relative to the config directory, or absolute) splices FILE's plugin
// lines in place; a directory includes its regular non-dot files sorted by name, as qpsmtpd's
// config reader does. Every problem is "file:line: message" and reading goes on: a missing
// include names the including line, an include loop names the chain, and a line of an
// included file is reported under that file's own name and line number.
// Start-up and reload only (synchronous file reads).
#pragma once

#include <string>

#include "core/proto/plugin_list.hpp"

namespace asmtpd::smtp {

// DIR/plugins with its includes resolved. A top file that cannot be read is one error
// ("DIR/plugins:0: cannot read the plugin list").
proto::PluginList read_plugin_list(const std::string& config_dir);

}  // namespace asmtpd::smtp
