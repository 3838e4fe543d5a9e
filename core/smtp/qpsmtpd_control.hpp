// qpsmtpd_control.hpp - qpsmtpd's and qmail's flat control files that carry daemon settings.
//
// An operator moving a qpsmtpd or qmail directory keeps these files; silently ignoring them
// would change limits without a word. Each file below, when present in the config directory,
// is read as qpsmtpd reads it (first non-comment line) and sets its asmtpd.yaml key, unless
// asmtpd.yaml sets that key itself (the file is then ignored, with a note naming the key):
//   databytes      -> limits.databytes          (0 = no limit; qmail's control/databytes too)
//   smtpgreeting   -> greeting                  (a leading host name is dropped: asmtpd always
//                                                puts its hostname first, RFC 5321 §4.3.1)
//   timeout        -> timeouts.command          (qpsmtpd: seconds to wait for client input)
//   timeoutsmtpd   -> timeouts.command          (qmail's name)
//   loglevel       -> log_level                 (syslog numbers 0..7)
//   spool_dir      -> spool_dir
//   size_threshold -> limits.memory_spool       (bytes kept in memory before spooling)
//   tls_before_auth-> tls_before_auth           (0 or 1)
//   tls_ciphers    -> tls.ciphers
// tls_protocols is not mapped (OpenSSL's names differ): a note names tls.min_version.
// A value that does not parse is an error "FILE:LINE: what is wrong".
#pragma once

#include <set>
#include <string>
#include <vector>

#include "core/smtp/settings.hpp"
#include "hooks/flat_config.hpp"

namespace asmtpd::smtp {

// `hostname` is the name the greeting starts with (to drop it from smtpgreeting).
void apply_qpsmtpd_control_files(const hooks::FlatConfig& config, const std::set<std::string>& given,
                                 const std::string& hostname, Settings& settings,
                                 std::vector<std::string>& errors, std::vector<std::string>& notices);

}  // namespace asmtpd::smtp
