// dso_legacy.hpp - IndiMail's plugin_init() API (SPP.md §6 "Legacy shim"): one call of
// mail_func / rcpt_func / data_func, and the reply its message turns into.
//
// Rules (IndiMail semantics, made safe):
//   - *mesg is set to NULL before the call and copied (at most 64 KiB) as soon as it returns,
//     on the calling thread: IndiMail plugins use static buffers that the next call reuses;
//   - NULL arguments are never passed: "" instead (remoteinfo may be NULL in IndiMail);
//   - 0 means "carry on" (DECLINED); non-zero rejects with the message, which must start with
//     ^[45]\d\d[ -]; a NULL or malformed message gives "451 4.3.0 rejected by plugin";
//   - the message may be multi-line ("553-a\r\n553 b\r\n"); a missing CRLF is fine; every line
//     is re-framed with the first line's code, so the client gets exactly one reply;
//   - the session always continues (even after a 421 text, as in IndiMail); a data_func refusal
//     means nothing is queued.
// Pure except LegacyJob::run, which calls plugin code (pool threads only).
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "core/proto/reply.hpp"
#include "hooks/context.hpp"
#include "hooks/plugin.hpp"
#include "hooks/result.hpp"
#include "plugins/dso/dso_library.hpp"

namespace asmtpd::plugins::dso {

inline constexpr std::size_t kMaxLegacyMessage = 65536;
inline constexpr std::size_t kMaxLegacyLines = 32;

struct LegacyJob {
    enum class Fn { Mail, Rcpt, Data };
    Fn fn = Fn::Mail;
    std::string a, b, c, d;             // the arguments, in IndiMail's order
    int rc = 0;
    std::optional<std::string> mesg;    // nullopt: *mesg was left NULL
    bool threw = false;

    // Loop thread: the arguments for `hook` (mail, rcpt or data_post).
    static LegacyJob capture(hooks::Context& ctx, hooks::Hook hook, const hooks::HookArgs& args);
    // The thread that runs the plugin.
    void run(const IndimailPlugin& p);
};

// "553 no\r\n" -> Reply{553, "", {"no"}}; nullopt when the first line does not match
// ^[45]\d\d[ -] (or there is no line at all).
std::optional<proto::Reply> parse_legacy_message(std::string_view m);

// The verdict for a call's return value and message.
hooks::Verdict legacy_verdict(int rc, const std::optional<std::string>& mesg);

// "451 4.3.0 rejected by plugin"
hooks::Verdict legacy_fallback();

}  // namespace asmtpd::plugins::dso
