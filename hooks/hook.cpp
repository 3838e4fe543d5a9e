// hook.cpp - hook names (qpsmtpd spelling) and which hooks ignore their results.
//
// The name table is indexed by the enum, so a hook added to hook.hpp without a name here
// fails to compile (the static_assert below) instead of logging "" at run time.
#include "hooks/hook.hpp"

#include <array>

namespace asmtpd::hooks {
namespace {

constexpr std::array<std::string_view, kHookCount> kNames = {
    "pre_connection", "connect", "helo", "ehlo",
    "mail_pre", "mail", "rcpt_pre", "rcpt", "rcpt_post",
    "data", "data_headers_end", "data_post_headers", "data_post", "queue_pre", "queue", "queue_post",
    "reset_transaction", "quit", "disconnect", "post_connection",
    "unrecognized_command", "vrfy", "noop", "help",
    "auth", "auth_plain", "auth_login", "auth_cram_md5", "auth_post",
    "received_line", "logging", "deny", "ok",
};
static_assert(kNames.back() == "ok" && kNames[static_cast<std::size_t>(Hook::Ok)] == "ok",
              "kNames must follow the order of enum Hook");

// qpsmtpd writes some names with '-' ("pre-connection", "auth-cram-md5"); compare as if every
// '-' were '_'. Case matters, as in qpsmtpd.
constexpr bool same_name(std::string_view canonical, std::string_view given) {
    if (canonical.size() != given.size()) return false;
    for (std::size_t i = 0; i < given.size(); ++i) {
        char c = given[i] == '-' ? '_' : given[i];
        if (c != canonical[i]) return false;
    }
    return true;
}

}  // namespace

std::string_view hook_name(Hook h) {
    auto i = static_cast<std::size_t>(h);
    return i < kHookCount ? kNames[i] : std::string_view("invalid");
}

std::optional<Hook> hook_from_name(std::string_view name) {
    for (std::size_t i = 0; i < kHookCount; ++i)
        if (same_name(kNames[i], name)) return static_cast<Hook>(i);
    return std::nullopt;
}

bool hook_result_ignored(Hook h) {
    switch (h) {
    case Hook::QueuePost:
    case Hook::ResetTransaction:
    case Hook::Disconnect:
    case Hook::PostConnection:
    case Hook::Logging:
    case Hook::Deny:
    case Hook::Ok:
        return true;
    default:
        return false;
    }
}

}  // namespace asmtpd::hooks
