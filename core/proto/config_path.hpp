// config_path.hpp - where a path named in the configuration points (issue 15).
//
// Every relative path the configuration names (asmtpd.yaml's spool_dir, state.path, tls.cert
// and tls.key; a plugin argument that names a file, directory or program; a file named inside a
// flat file) is taken from one base: the configuration directory, the one holding asmtpd.yaml,
// never the daemon's working directory. So `asmtpd --config /etc/asmtpd` reads and writes the
// same files whatever directory it is started from. Pure: no I/O (the caller makes the base
// absolute; core/smtp/config_paths.hpp does).
#pragma once

#include <string>
#include <string_view>

namespace asmtpd::proto {

// `path` as the daemon opens it: "" stays "" (a setting left empty keeps its own meaning), an
// absolute path stays exactly as written, a relative one becomes base/path with "." and ".." folded
// lexically ("../var/mail" from "/srv/asmtpd/config" is "/srv/asmtpd/var/mail"). No trailing
// '/' is kept except for "/" itself.
std::string resolve_config_path(std::string_view base, std::string_view path);

}  // namespace asmtpd::proto
