// hook.hpp - the hook names of the plugin contract, spelled exactly as qpsmtpd spells them.
//
// Two hooks are asmtpd extensions that qpsmtpd does not have (qmail-spp's [pass] and [auth]):
//   rcpt_post  a recipient has passed the whole rcpt chain and is in the envelope (the
//              transaction's recipients include it); a refusal takes it out again.
//   auth_post  the auth chain accepted the credentials and SMTPAUTHUSER/SMTPAUTHMETHOD are set;
//              DECLINED/OK give 235, a refusal leaves the session unauthenticated.
// The data hooks run in qpsmtpd's order: data (before 354), data_headers_end (the blank line
// that ends the header block, while the client still streams), data_post_headers (after the
// final dot: authentication results, before the Received line is prepended), data_post.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace asmtpd::hooks {

enum class Hook {
    PreConnection, Connect, Helo, Ehlo,
    MailPre, Mail, RcptPre, Rcpt, RcptPost,
    Data, DataHeadersEnd, DataPostHeaders, DataPost, QueuePre, Queue, QueuePost,
    ResetTransaction, Quit, Disconnect, PostConnection,
    UnrecognizedCommand, Vrfy, Noop, Help,
    Auth, AuthPlain, AuthLogin, AuthCramMd5, AuthPost,
    ReceivedLine, Logging, Deny, Ok,
    Count_  // not a hook: the number of hooks
};

inline constexpr std::size_t kHookCount = static_cast<std::size_t>(Hook::Count_);

// "rcpt_pre", "pre-connection"/"pre_connection" both accepted by from_name; name() gives the
// underscore form used in logs and config ("pre_connection", "auth_plain" ...).
std::string_view hook_name(Hook h);
std::optional<Hook> hook_from_name(std::string_view name);

// Hooks whose results are ignored: every handler runs, in order, and nobody waits.
bool hook_result_ignored(Hook h);

}  // namespace asmtpd::hooks
