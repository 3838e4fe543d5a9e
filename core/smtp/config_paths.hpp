// config_paths.hpp - the configuration directory as the base of every relative path the
// configuration names (issue 15; the rule is core/proto/config_path.hpp).
//
// Rules: the base is computed when a configuration is loaded (start-up, --check, SIGHUP), from
// the --config argument as given and the working directory the daemon was started in (it never
// changes it), so start-up and every reload agree.
#pragma once

#include <string>

#include "core/smtp/settings.hpp"

namespace asmtpd::smtp {

// config_dir made absolute with its symbolic links resolved (weakly_canonical: a directory that
// does not exist yet keeps its missing tail as written), so "../var" is the var beside the
// directory the configuration really lives in. Falls back to the lexically absolute form.
std::string config_base(const std::string& config_dir);

// asmtpd.yaml's paths resolved against base: spool_dir, state.path, tls.cert, tls.key
// (log.syslog_socket must already be absolute).
void resolve_setting_paths(Settings& s, const std::string& base);

}  // namespace asmtpd::smtp
