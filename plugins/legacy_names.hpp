// legacy_names.hpp - qpsmtpd's older plugin names in config/plugins, mapped onto asmtpd's.
//
// An operator's stock qpsmtpd plugin list must load, or say precisely what to change:
//   check_relay, check_norelay      -> relay (it reads relayclients and norelayclients)
//   relay_only                      -> relay only
//   queue/smtp-forward [HOST PORT]  -> queue/smtp_forward HOST:PORT (else from config/smtpgateway)
//   queue/postfix-queue, queue/exim-bsmtp -> an error naming what to use instead
//   auth/auth_flat_file             -> auth/flat_file
//   auth/auth_checkpassword checkpw P true T -> auth/checkpassword P T
//   check_spamhelo                  -> helo (badhelo, lenient policy)
//   require_resolvable_fromhost     -> resolvable_fromhost
//   logging/*                       -> dropped: asmtpd logs to stderr at asmtpd.yaml's log_level
//   check_loop -> loop, check_basicheaders -> headers, check_bogus_bounce -> bogus_bounce,
//   virus/clamav -> virus/clamdscan   (when this build has the successor; else an error that
//                                     names it and says how to keep the check meanwhile)
// Each mapped line keeps its file:line; what was changed is reported as a notice.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "core/proto/plugin_list.hpp"
#include "hooks/flat_config.hpp"
#include "hooks/plugin.hpp"

namespace asmtpd::plugins {

// Rewrites `list` in place. Errors go to list.errors; "file:line: note: ..." lines about what
// was mapped go to notices.
void migrate_legacy_names(proto::PluginList& list, std::span<const hooks::CatalogEntry> catalog,
                          const hooks::FlatConfig& config, std::vector<std::string>& notices);

}  // namespace asmtpd::plugins
