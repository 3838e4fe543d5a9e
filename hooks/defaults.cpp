// defaults.cpp - the (hook, result) -> disposition table and the rules that merge a plugin's
// text or reply into the default reply.
//
// The table is data: one row per (hook group, set of results). A compile-time check proves
// that every group answers every result exactly once, so no verdict can fall through to
// "whatever the session happens to do". Fail closed: a reply a plugin attaches can never turn
// a refusal into success (a DECLINED rcpt stays 4xx whatever reply came with it), and the
// quit reply stays 221.
#include "hooks/defaults.hpp"

#include <array>
#include <cstdint>
#include <string_view>

namespace asmtpd::hooks {
namespace {

// Hooks that share one set of rows.
enum class Group : std::uint8_t {
    PreConnection, Connect, Hello, AddressPre, Mail, Rcpt, RcptPost, Data, HeadersEnd, DataPost, QueuePre, Queue,
    Unrecognized, Vrfy, Noop, Help, Quit, Auth, AuthPost, Bookkeeping,
    Count_
};

constexpr std::array<Group, kHookCount> kGroupOf = [] {
    std::array<Group, kHookCount> g{};
    g.fill(Group::Count_);   // "no group": groups_cover_hooks() rejects it
    auto set = [&g](Hook h, Group v) { g[static_cast<std::size_t>(h)] = v; };
    set(Hook::PreConnection, Group::PreConnection);
    set(Hook::Connect, Group::Connect);
    set(Hook::Helo, Group::Hello);
    set(Hook::Ehlo, Group::Hello);
    set(Hook::MailPre, Group::AddressPre);
    set(Hook::RcptPre, Group::AddressPre);
    set(Hook::Mail, Group::Mail);
    set(Hook::Rcpt, Group::Rcpt);
    set(Hook::RcptPost, Group::RcptPost);
    set(Hook::Data, Group::Data);
    set(Hook::DataHeadersEnd, Group::HeadersEnd);
    // Unlike qpsmtpd (which ignores its results), a refusal at data_post_headers refuses the
    // message as data_post does: a DKIM or DMARC plugin fails closed where it decides.
    set(Hook::DataPostHeaders, Group::DataPost);
    set(Hook::DataPost, Group::DataPost);
    set(Hook::QueuePre, Group::QueuePre);
    set(Hook::Queue, Group::Queue);
    set(Hook::UnrecognizedCommand, Group::Unrecognized);
    set(Hook::Vrfy, Group::Vrfy);
    set(Hook::Noop, Group::Noop);
    set(Hook::Help, Group::Help);
    set(Hook::Quit, Group::Quit);
    set(Hook::Auth, Group::Auth);
    set(Hook::AuthPlain, Group::Auth);
    set(Hook::AuthLogin, Group::Auth);
    set(Hook::AuthCramMd5, Group::Auth);
    set(Hook::AuthPost, Group::AuthPost);
    // received_line, logging, deny, ok and the ignored-result hooks: Bookkeeping.
    for (Hook h : {Hook::QueuePost, Hook::ResetTransaction, Hook::Disconnect, Hook::PostConnection,
                   Hook::ReceivedLine, Hook::Logging, Hook::Deny, Hook::Ok})
        set(h, Group::Bookkeeping);
    return g;
}();

// Result sets as bit masks.
constexpr unsigned bit(Result r) { return 1u << static_cast<unsigned>(r); }
constexpr unsigned kDecl = bit(Result::Declined), kOk = bit(Result::Ok), kDeny = bit(Result::Deny),
                   kSoft = bit(Result::DenySoft), kDenyDisc = bit(Result::DenyDisconnect),
                   kSoftDisc = bit(Result::DenySoftDisconnect), kDone = bit(Result::Done);
constexpr unsigned kAll = kDecl | kOk | kDeny | kSoft | kDenyDisc | kSoftDisc | kDone;
constexpr unsigned kResultCount = 7;

struct Row {
    Group group;
    unsigned results;
    Action action;
    int code;
    std::string_view esc;
    std::string_view text;
};

using A = Action;
using G = Group;

constexpr std::string_view kConnDenied = "Connection from you denied, bye bye.";
constexpr std::string_view kConnSoft = "Connection from you temporarily denied, bye bye.";
constexpr std::string_view kAddrSyntax = "Syntax error in address";
constexpr std::string_view kAddrSoft = "Temporary failure processing address";
constexpr std::string_view kQueueRefused = "Message refused by queue";
constexpr std::string_view kUnrecognized = "Unrecognized command";
constexpr std::string_view kWasting = "Stop wasting my time.";
constexpr std::string_view kHelpDenied = "Syntax error, command not recognized";
constexpr std::string_view kAuthFailed = "Authentication failed";
constexpr std::string_view kAuthSoft = "Temporary authentication failure";

constexpr Row kRows[] = {
    {G::PreConnection, kDecl | kOk | kDone, A::Proceed, 220, "", ""},
    {G::PreConnection, kDeny | kDenyDisc, A::RespondClose, 554, "5.7.1", kConnDenied},
    {G::PreConnection, kSoft | kSoftDisc, A::RespondClose, 421, "4.7.0", kConnSoft},

    {G::Connect, kDecl | kOk, A::Proceed, 220, "", ""},
    {G::Connect, kDone, A::Silent, 220, "", ""},
    {G::Connect, kDeny | kDenyDisc, A::RespondClose, 554, "5.7.1", kConnDenied},
    {G::Connect, kSoft | kSoftDisc, A::RespondClose, 421, "4.7.0", kConnSoft},

    {G::Hello, kDecl | kOk, A::Proceed, 250, "2.0.0", ""},
    {G::Hello, kDeny, A::Respond, 550, "5.7.1", "Hello denied"},
    {G::Hello, kSoft, A::Respond, 450, "4.7.1", "Hello temporarily denied"},
    {G::Hello, kDenyDisc, A::RespondClose, 550, "5.7.1", "Hello denied"},
    {G::Hello, kSoftDisc, A::RespondClose, 421, "4.7.1", "Hello temporarily denied"},
    {G::Hello, kDone, A::Silent, 250, "2.0.0", ""},

    {G::AddressPre, kDecl | kOk, A::Proceed, 250, "2.0.0", ""},
    {G::AddressPre, kDeny, A::Respond, 501, "5.5.4", kAddrSyntax},
    {G::AddressPre, kSoft, A::Respond, 451, "4.3.0", kAddrSoft},
    {G::AddressPre, kDenyDisc, A::RespondClose, 501, "5.5.4", kAddrSyntax},
    {G::AddressPre, kSoftDisc, A::RespondClose, 421, "4.3.0", kAddrSoft},
    {G::AddressPre, kDone, A::Silent, 250, "2.0.0", ""},

    {G::Mail, kDecl | kOk, A::Proceed, 250, "2.1.0", "Sender OK"},
    {G::Mail, kDeny, A::Respond, 550, "5.7.1", "Sender denied"},
    {G::Mail, kSoft, A::Respond, 450, "4.7.1", "Sender temporarily denied"},
    {G::Mail, kDenyDisc, A::RespondClose, 550, "5.7.1", "Sender denied"},
    {G::Mail, kSoftDisc, A::RespondClose, 421, "4.7.1", "Sender temporarily denied"},
    {G::Mail, kDone, A::Silent, 250, "2.1.0", ""},

    {G::Rcpt, kOk, A::Proceed, 250, "2.1.5", "Recipient OK"},
    {G::Rcpt, kDecl, A::Respond, 450, "4.7.1", "No plugin decided if relaying is allowed"},
    {G::Rcpt, kDeny, A::Respond, 550, "5.7.1", "Relaying denied"},
    {G::Rcpt, kSoft, A::Respond, 450, "4.7.1", "Recipient temporarily denied"},
    {G::Rcpt, kDenyDisc, A::RespondClose, 550, "5.7.1", "Delivery denied"},
    {G::Rcpt, kSoftDisc, A::RespondClose, 421, "4.7.1", "Recipient temporarily denied"},
    {G::Rcpt, kDone, A::Silent, 250, "2.1.5", ""},

    // rcpt_post: the recipient is already accepted, so silence keeps it (unlike rcpt, which
    // fails closed); any refusal takes it out of the envelope again.
    {G::RcptPost, kDecl | kOk, A::Proceed, 250, "2.1.5", "Recipient OK"},
    {G::RcptPost, kDeny, A::Respond, 550, "5.7.1", "Recipient denied"},
    {G::RcptPost, kSoft, A::Respond, 450, "4.7.1", "Recipient temporarily denied"},
    {G::RcptPost, kDenyDisc, A::RespondClose, 550, "5.7.1", "Recipient denied"},
    {G::RcptPost, kSoftDisc, A::RespondClose, 421, "4.7.1", "Recipient temporarily denied"},
    {G::RcptPost, kDone, A::Silent, 250, "2.1.5", ""},

    {G::Data, kDecl | kOk, A::Proceed, 354, "", "End data with <CR><LF>.<CR><LF>"},
    {G::Data, kDeny, A::Respond, 554, "5.7.1", "Message denied"},
    {G::Data, kSoft, A::Respond, 451, "4.7.1", "Message temporarily denied"},
    {G::Data, kDenyDisc, A::RespondClose, 554, "5.7.1", "Message denied"},
    {G::Data, kSoftDisc, A::RespondClose, 421, "4.7.1", "Message temporarily denied"},
    {G::Data, kDone, A::Silent, 354, "", ""},

    // data_headers_end: the client is still sending. The _DISCONNECT results answer and close
    // at once (qpsmtpd); DENY and DENYSOFT are kept and answer the final dot (the session
    // refuses the message then), where qpsmtpd would ignore them.
    {G::HeadersEnd, kDecl | kOk | kDone, A::Proceed, 250, "2.0.0", ""},
    {G::HeadersEnd, kDeny, A::Respond, 554, "5.7.1", "Message denied"},
    {G::HeadersEnd, kSoft, A::Respond, 451, "4.7.1", "Message temporarily denied"},
    {G::HeadersEnd, kDenyDisc, A::RespondClose, 554, "5.7.1", "Message denied"},
    {G::HeadersEnd, kSoftDisc, A::RespondClose, 421, "4.7.1", "Message temporarily denied"},

    {G::DataPost, kDecl | kOk, A::Proceed, 250, "2.0.0", ""},
    {G::DataPost, kDeny, A::Respond, 552, "5.7.1", "Message denied"},
    {G::DataPost, kSoft, A::Respond, 452, "4.7.1", "Message temporarily denied"},
    {G::DataPost, kDenyDisc, A::RespondClose, 552, "5.7.1", "Message denied"},
    {G::DataPost, kSoftDisc, A::RespondClose, 421, "4.7.1", "Message temporarily denied"},
    {G::DataPost, kDone, A::Silent, 250, "2.0.0", ""},

    {G::QueuePre, kDecl | kOk, A::Proceed, 250, "2.0.0", ""},
    {G::QueuePre, kDeny, A::Respond, 552, "5.3.0", kQueueRefused},
    {G::QueuePre, kSoft, A::Respond, 451, "4.3.0", "Queue temporarily unavailable"},
    {G::QueuePre, kDenyDisc, A::RespondClose, 552, "5.3.0", kQueueRefused},
    {G::QueuePre, kSoftDisc, A::RespondClose, 421, "4.3.0", "Queue temporarily unavailable"},
    {G::QueuePre, kDone, A::Silent, 250, "2.0.0", ""},

    {G::Queue, kOk, A::Proceed, 250, "2.0.0", "Queued"},
    {G::Queue, kDecl, A::Respond, 451, "4.3.0", "Queuing declined or disabled; try again later"},
    {G::Queue, kDeny, A::Respond, 552, "5.3.0", kQueueRefused},
    {G::Queue, kSoft, A::Respond, 452, "4.3.0", "Queuing temporarily failed"},
    {G::Queue, kDenyDisc, A::RespondClose, 552, "5.3.0", kQueueRefused},
    {G::Queue, kSoftDisc, A::RespondClose, 421, "4.3.0", "Queuing temporarily failed"},
    {G::Queue, kDone, A::Silent, 250, "2.0.0", ""},

    {G::Unrecognized, kDecl | kOk | kDeny | kSoft, A::Respond, 500, "5.5.1", kUnrecognized},
    {G::Unrecognized, kDenyDisc, A::RespondClose, 521, "5.5.1", kUnrecognized},
    {G::Unrecognized, kSoftDisc, A::RespondClose, 421, "4.5.1", kUnrecognized},
    {G::Unrecognized, kDone, A::Silent, 500, "5.5.1", ""},

    {G::Vrfy, kDecl, A::Respond, 252, "2.5.2", "Just try sending a mail and we'll see how it turns out ..."},
    {G::Vrfy, kOk, A::Respond, 250, "2.1.5", "User OK"},
    {G::Vrfy, kDeny, A::Respond, 554, "5.7.1", "Access Denied"},
    {G::Vrfy, kSoft, A::Respond, 450, "4.7.1", "Access temporarily denied"},
    {G::Vrfy, kDenyDisc, A::RespondClose, 554, "5.7.1", "Access Denied"},
    {G::Vrfy, kSoftDisc, A::RespondClose, 421, "4.7.1", "Access temporarily denied"},
    {G::Vrfy, kDone, A::Silent, 252, "2.5.2", ""},

    {G::Noop, kDecl | kOk, A::Respond, 250, "2.0.0", "OK"},
    {G::Noop, kDeny | kSoft, A::Respond, 500, "5.5.1", kWasting},
    {G::Noop, kDenyDisc, A::RespondClose, 500, "5.5.1", kWasting},
    {G::Noop, kSoftDisc, A::RespondClose, 421, "4.5.1", kWasting},
    {G::Noop, kDone, A::Silent, 250, "2.0.0", ""},

    {G::Help, kDecl | kOk, A::Respond, 214, "2.0.0",
     "This is asmtpd\nSee RFC 5321 for the commands\nTo report bugs, contact the postmaster of this host"},
    {G::Help, kDeny | kSoft, A::Respond, 500, "5.5.1", kHelpDenied},
    {G::Help, kDenyDisc, A::RespondClose, 500, "5.5.1", kHelpDenied},
    {G::Help, kSoftDisc, A::RespondClose, 421, "4.5.1", kHelpDenied},
    {G::Help, kDone, A::Silent, 214, "2.0.0", ""},

    {G::Quit, kAll & ~kDone, A::RespondClose, 221, "2.0.0", "closing connection"},
    {G::Quit, kDone, A::SilentClose, 221, "2.0.0", ""},

    {G::Auth, kOk, A::Proceed, 235, "2.7.0", "Authentication successful"},
    {G::Auth, kDecl | kDeny, A::Respond, 535, "5.7.8", kAuthFailed},
    {G::Auth, kSoft, A::Respond, 454, "4.7.0", kAuthSoft},
    {G::Auth, kDenyDisc, A::RespondClose, 535, "5.7.8", kAuthFailed},
    {G::Auth, kSoftDisc, A::RespondClose, 421, "4.7.0", kAuthSoft},
    {G::Auth, kDone, A::Silent, 235, "2.7.0", ""},

    // auth_post: the credentials were good; silence authenticates (unlike auth, which fails
    // closed), a refusal leaves the session unauthenticated, DONE too (fail closed).
    {G::AuthPost, kDecl | kOk, A::Proceed, 235, "2.7.0", "Authentication successful"},
    {G::AuthPost, kDeny, A::Respond, 535, "5.7.8", kAuthFailed},
    {G::AuthPost, kSoft, A::Respond, 454, "4.7.0", kAuthSoft},
    {G::AuthPost, kDenyDisc, A::RespondClose, 535, "5.7.8", kAuthFailed},
    {G::AuthPost, kSoftDisc, A::RespondClose, 421, "4.7.0", kAuthSoft},
    {G::AuthPost, kDone, A::Silent, 235, "2.7.0", ""},

    {G::Bookkeeping, kAll, A::Proceed, 250, "2.0.0", ""},
};

// Every (group, result) pair is covered by exactly one row, and every hook has a group.
constexpr bool table_complete() {
    for (unsigned g = 0; g < static_cast<unsigned>(Group::Count_); ++g) {
        for (unsigned r = 0; r < kResultCount; ++r) {
            int hits = 0;
            for (const Row& row : kRows)
                if (static_cast<unsigned>(row.group) == g && (row.results & (1u << r))) ++hits;
            if (hits != 1) return false;
        }
    }
    return true;
}
static_assert(table_complete(), "kRows must answer every result of every group exactly once");
static_assert(static_cast<unsigned>(Result::Done) + 1 == kResultCount);

constexpr bool groups_cover_hooks() {
    unsigned seen = 0;
    for (Group g : kGroupOf) {
        if (g == Group::Count_) return false;
        seen |= 1u << static_cast<unsigned>(g);
    }
    return seen == (1u << static_cast<unsigned>(Group::Count_)) - 1;   // and no group unused
}
static_assert(groups_cover_hooks());

const Row* find_row(Hook hook, Result r) {
    auto h = static_cast<std::size_t>(hook);
    auto ri = static_cast<unsigned>(r);
    if (h >= kHookCount || ri >= kResultCount) return nullptr;
    for (const Row& row : kRows)
        if (row.group == kGroupOf[h] && (row.results & (1u << ri))) return &row;
    return nullptr;
}

bool success_class(int klass) { return klass == 2 || klass == 3; }

// May the verdict's reply replace the default code? Same class as the default always may;
// a refusal may pick its own code within the result's class (5xx for DENY*, 4xx for
// DENYSOFT*); a success may pick any 2xx/3xx. Nothing else: no upgrade to success, no
// softening of a hard refusal, no refusal of QUIT.
bool reply_fits(Result r, int default_code, int code) {
    if (code < 200 || code > 599) return false;
    int dk = default_code / 100, k = code / 100;
    if (k == dk) return true;
    bool default_refuses = dk == 4 || dk == 5;
    switch (r) {
    case Result::Deny:
    case Result::DenyDisconnect:
        return default_refuses && k == 5;
    case Result::DenySoft:
    case Result::DenySoftDisconnect:
        return default_refuses && k == 4;
    case Result::Ok:
    case Result::Declined:
        return success_class(dk) && success_class(k);
    case Result::Done:
        return false;
    }
    return false;
}

// The esc to send with `code`: the given one if it fits, else the row's, else "X.0.0", else
// none (3xx has no enhanced status class).
std::string pick_esc(std::string_view given, std::string_view row_esc, int code) {
    if (!given.empty() && proto::esc_matches(given, code)) return std::string(given);
    if (!row_esc.empty() && proto::esc_matches(row_esc, code)) return std::string(row_esc);
    int k = code / 100;
    if (k == 2 || k == 4 || k == 5) return std::to_string(k) + ".0.0";
    return {};
}

}  // namespace

Disposition dispose(Hook hook, const Verdict& v) {
    const Row* row = find_row(hook, v.result);
    if (row == nullptr)   // only for out-of-range enum values: a bug, so refuse softly
        return {Action::Respond, proto::Reply::make(451, "4.3.0", "Internal error")};

    std::string_view text = v.text.empty() ? row->text : std::string_view(v.text);
    Disposition d{row->action, proto::Reply::make(row->code, row->esc, text)};
    // spp "D": whatever the hook, a refusal that closes without a word. Success stays success.
    if (v.close_silently && is_deny(v.result)) return {Action::SilentClose, d.reply};
    if (v.keep_session && hook == Hook::Connect && d.action == Action::RespondClose) d.action = Action::Respond;
    if (!v.reply) return d;

    const proto::Reply& r = *v.reply;
    if (!r.lines.empty()) d.reply.lines = r.lines;
    if (reply_fits(v.result, row->code, r.code)) {
        d.reply.code = r.code;
        d.reply.esc = v.verbatim ? (r.esc.empty() || proto::esc_matches(r.esc, r.code) ? r.esc : std::string())
                                 : pick_esc(r.esc, row->esc, r.code);
    }
    return d;
}

}  // namespace asmtpd::hooks
