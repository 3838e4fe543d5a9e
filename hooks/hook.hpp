// hook.hpp - the hook names of the plugin contract, spelled exactly as qpsmtpd spells them.
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace asmtpd::hooks {

enum class Hook {
    PreConnection, Connect, Helo, Ehlo,
    MailPre, Mail, RcptPre, Rcpt,
    Data, DataPost, QueuePre, Queue, QueuePost,
    ResetTransaction, Quit, Disconnect, PostConnection,
    UnrecognizedCommand, Vrfy, Noop, Help,
    Auth, AuthPlain, AuthLogin, AuthCramMd5,
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
