// rspamd_settings.hpp - the rspamd plugin's arguments: Haraka's rspamd.ini names, given as
// "key value" words on the plugin's line in config/plugins.
//
// Keys (Haraka's defaults unless said otherwise):
//   host HOST (localhost; an IP literal or localhost)   port N (11333)   unix_socket /PATH
//   timeout SECONDS (the plugin timeout - 1 s, at least 1 s; the whole exchange)
//   add_headers always|sometimes|never (sometimes)      always_add_headers BOOL (Haraka's older switch)
//   header.bar NAME (X-Rspamd-Bar)  header.report NAME (X-Rspamd-Report)  header.score NAME
//     (X-Rspamd-Score); "none" leaves that header out
//   spambar.positive C (+)  spambar.negative C (-)  spambar.neutral C (/)
//   reject.spam BOOL (true)  reject.authenticated BOOL (false)  reject.message TEXT (Detected as spam)
//   soft_reject.enabled BOOL (true)  soft_reject.message TEXT (Deferred by policy)
//   greylist.enabled BOOL (true; not Haraka's, which lets greylist through)
//   rewrite_subject.enabled BOOL (true)  subject TEXT ([SPAM] %s)
//   smtp_message.enabled BOOL (true)  rmilter_headers.enabled BOOL (true)
//   check.authenticated BOOL (false)  check.relay BOOL (false)  check.local_ip BOOL (false)
//   check.private_ip BOOL (false)
//   defer.error BOOL (false)  defer.timeout BOOL (false)
//   request.pass_all BOOL (false: sends "Pass: all")  request.settings_id ID (Settings-ID)
// BOOL is true|false|yes|no|on|off|1|0. TEXT runs over several words, up to the next key.
// Pure: parsing only, no I/O; errors are returned as text (the loader adds file:line).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/client/next_hop.hpp"

namespace asmtpd::plugins {

struct RspamdSettings {
    enum class AddHeaders { Always, Sometimes, Never };

    client::NextHop target;
    std::uint64_t timeout_ms = 0;                    // 0: derived from the plugin timeout
    AddHeaders add_headers = AddHeaders::Sometimes;
    std::string header_bar = "X-Rspamd-Bar";
    std::string header_report = "X-Rspamd-Report";
    std::string header_score = "X-Rspamd-Score";
    std::string bar_positive = "+", bar_negative = "-", bar_neutral = "/";
    bool reject_spam = true;
    bool reject_authenticated = false;
    std::string reject_message = "Detected as spam";
    bool soft_reject = true;
    std::string soft_reject_message = "Deferred by policy";
    bool greylist = true;
    bool rewrite_subject = true;
    std::string subject = "[SPAM] %s";
    bool smtp_message = true;
    bool milter_headers = true;
    bool check_authenticated = false;
    bool check_relay = false;
    bool check_local_ip = false;
    bool check_private_ip = false;
    bool defer_error = false;
    bool defer_timeout = false;
    bool pass_all = false;
    std::string settings_id;
};

// Parses the words after the plugin's name; the error names the key.
std::optional<std::string> parse_rspamd_settings(const std::vector<std::string>& words, RspamdSettings& out);

}  // namespace asmtpd::plugins
