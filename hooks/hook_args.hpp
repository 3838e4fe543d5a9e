// hook_args.hpp - the arguments of each hook, one small struct per hook family, so the compiler
// checks what a handler reads: `r.on<Hook::Mail>(&P::on_mail)` only compiles when on_mail takes
// `const AddressArgs&`. ArgsOf<H> names the struct of hook H.
//
// Rules: a hook's struct never changes meaning with the hook; a new hook gets an existing family
// only when its arguments mean the same thing. Generic plugins (spp, dso) register with on_any()
// and read the variant themselves.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/io/log.hpp"
#include "core/proto/address.hpp"
#include "core/proto/command.hpp"
#include "hooks/hook.hpp"
#include "hooks/result.hpp"

namespace asmtpd::hooks {

// pre_connection, connect, data, data_headers_end, data_post_headers, data_post, queue_pre,
// queue, quit, disconnect, post_connection: everything is in ctx.connection() / transaction().
struct NoArgs {};

// helo, ehlo: the name the client gave (may be empty: HELO without an argument is refused
// before the chain, so handlers never see an empty one).
struct HeloArgs {
    std::string host;
};

// mail_pre, rcpt_pre: the path as the client wrote it ("<a@b>", or bare for lenient clients),
// before it is parsed; ESMTP parameters with upper-cased keywords.
struct PathArgs {
    std::string path;
    std::vector<proto::EsmtpParam> params;
};

// mail, rcpt, rcpt_post: the parsed address (null sender: empty) and the parameters.
struct AddressArgs {
    proto::Address address;
    std::vector<proto::EsmtpParam> params;
};

// vrfy, noop, help: the command's argument text.
struct ArgumentArgs {
    std::string argument;
};

// unrecognized_command: the verb as sent and the rest of the line.
struct CommandArgs {
    std::string verb;
    std::string arguments;
};

// reset_transaction: client_rset when the client sent RSET (it then runs even with no
// transaction open); otherwise the transaction ended (queued, refused, MAIL again, disconnect).
struct ResetArgs {
    bool client_rset = false;
};

// auth, auth_plain, auth_login, auth_cram_md5, auth_post: mechanism ("PLAIN", "LOGIN",
// "CRAM-MD5"), user (authcid), secret = password (PLAIN/LOGIN) or the client's hex HMAC-MD5
// digest (CRAM-MD5), ticket = the CRAM-MD5 challenge as sent. auth_post: secret is empty.
struct AuthArgs {
    std::string mechanism;
    std::string user;
    std::string secret;
    std::string ticket;
};

// received_line: qpsmtpd's ($smtp_proto, $auth_str, $ssl_str). protocol is RFC 3848's "with"
// value ("ESMTPSA"); auth is "(user)" style text or empty; tls describes the cipher or is empty.
// OK with Verdict::text replaces the value of the Received header the daemon would write.
struct ReceivedArgs {
    std::string protocol;
    std::string auth;
    std::string tls;
    std::string standard;   // the value the daemon writes when no plugin answers OK
};

// logging: one line the daemon logs (at or below log_level), with the tag it carries.
struct LogArgs {
    io::Level level = io::Level::Info;
    std::string tag;
    std::string message;
};

// deny, ok, queue_post: which plugin answered which hook, and its verdict.
struct OutcomeArgs {
    Hook subject = Hook::Count_;
    std::string plugin;
    Verdict verdict;
};

using HookArgs = std::variant<NoArgs, HeloArgs, PathArgs, AddressArgs, ArgumentArgs, CommandArgs, ResetArgs,
                              AuthArgs, ReceivedArgs, LogArgs, OutcomeArgs>;

// Index in HookArgs of the struct hook h takes.
constexpr std::size_t args_index(Hook h) {
    switch (h) {
    case Hook::Helo:
    case Hook::Ehlo: return 1;
    case Hook::MailPre:
    case Hook::RcptPre: return 2;
    case Hook::Mail:
    case Hook::Rcpt:
    case Hook::RcptPost: return 3;
    case Hook::Vrfy:
    case Hook::Noop:
    case Hook::Help: return 4;
    case Hook::UnrecognizedCommand: return 5;
    case Hook::ResetTransaction: return 6;
    case Hook::Auth:
    case Hook::AuthPlain:
    case Hook::AuthLogin:
    case Hook::AuthCramMd5:
    case Hook::AuthPost: return 7;
    case Hook::ReceivedLine: return 8;
    case Hook::Logging: return 9;
    case Hook::QueuePost:
    case Hook::Deny:
    case Hook::Ok: return 10;
    default: return 0;
    }
}

template <Hook H>
using ArgsOf = std::variant_alternative_t<args_index(H), HookArgs>;

namespace detail {
template <std::size_t... I>
HookArgs args_at(std::size_t index, std::index_sequence<I...>) {
    HookArgs out;
    ((index == I ? (void)out.emplace<I>() : void()), ...);
    return out;
}
}  // namespace detail

// Empty arguments of the right type for hook h (tools and tests that call a hook by name).
inline HookArgs default_args(Hook h) {
    return detail::args_at(args_index(h), std::make_index_sequence<std::variant_size_v<HookArgs>>{});
}

}  // namespace asmtpd::hooks
