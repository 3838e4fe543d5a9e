// command_table.cpp - the verb table and the dispatch of one parsed command line.
#include "core/smtp/command_table.hpp"

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "core/smtp/session.hpp"

namespace asmtpd::smtp {

namespace {

// The sequencing a verb needs, checked in this order before its handler runs.
enum Need : unsigned {
    kNoArgs = 1u << 0,        // "VERB" alone, else 501 Syntax
    kHello = 1u << 1,         // HELO/EHLO first
    kNoSender = 1u << 2,      // no MAIL accepted yet (no nested MAIL)
    kSubmissionAuth = 1u << 3,   // on a submission listener: AUTH first (RFC 6409 §4.3)
    kSender = 1u << 4,        // a MAIL accepted
    kRecipient = 1u << 5,     // at least one RCPT accepted
    kGroupEnd = 1u << 6,      // ends a pipelined group (RFC 2920 §3.1): refusals check sync too
};

struct CommandSpec {
    std::string_view verb;
    void (*run)(Session&, const proto::Command&);
    unsigned needs = 0;
};

}  // namespace

// The first sequencing rule of `needs` the session breaks, as the reply to send.
std::optional<proto::Reply> CommandTable::out_of_sequence(const Session& s, std::string_view verb, unsigned needs,
                                                          const proto::Command& c) {
    const bool sender = s.txn_ && s.txn_->sender;
    if ((needs & kNoArgs) && !c.args.empty()) return proto::Reply::make(501, "5.5.4", "Syntax: " + std::string(verb));
    if ((needs & kHello) && s.info_.hello == proto::Hello::None)
        return proto::Reply::make(503, "5.5.1", "Error: send HELO/EHLO first");
    if ((needs & kNoSender) && sender) return proto::Reply::make(503, "5.5.1", "Error: nested MAIL command");
    if ((needs & kSubmissionAuth) && s.options_.mode == ListenMode::Submission && s.info_.auth_user.empty()) {
        // AUTH is offered only inside TLS (tls_before_auth): say what the client must do first.
        if (!s.tls_ && s.runtime_->tls && s.runtime_->settings.tls_before_auth)
            return proto::Reply::make(530, "5.7.0", "Must issue a STARTTLS command first");
        return proto::Reply::make(530, "5.7.0", "Authentication required");
    }
    if ((needs & kSender) && !sender) return proto::Reply::make(503, "5.5.1", "Error: need MAIL command");
    if ((needs & kRecipient) && s.txn_->recipients.empty())
        return proto::Reply::make(503, "5.5.1", "Error: need RCPT command");
    return std::nullopt;
}

void CommandTable::dispatch(Session& s, const proto::Command& c) {
    static constexpr std::array<CommandSpec, 20> kCommands{{
        {"HELO", [](Session& x, const proto::Command& k) { x.cmd_helo(k, false); }},
        {"EHLO", [](Session& x, const proto::Command& k) { x.cmd_helo(k, true); }},
        {"MAIL", [](Session& x, const proto::Command& k) { x.cmd_mail(k); }, kHello | kNoSender | kSubmissionAuth},
        {"RCPT", [](Session& x, const proto::Command& k) { x.cmd_rcpt(k); }, kSender},
        {"DATA", [](Session& x, const proto::Command& k) { x.cmd_data(k); }, kNoArgs | kSender | kRecipient | kGroupEnd},
        {"RSET", [](Session& x, const proto::Command& k) { x.cmd_rset(k); }, kNoArgs},
        {"NOOP", [](Session& x, const proto::Command& k) { x.cmd_noop(k); }},
        {"QUIT", [](Session& x, const proto::Command& k) { x.cmd_quit(k); }},
        {"VRFY", [](Session& x, const proto::Command& k) { x.cmd_vrfy(k); }},
        {"HELP", [](Session& x, const proto::Command& k) { x.cmd_help(k); }},
        {"EXPN", [](Session& x, const proto::Command& k) { x.cmd_not_implemented(k); }},
        {"TURN", [](Session& x, const proto::Command& k) { x.cmd_not_implemented(k); }},
        {"ETRN", [](Session& x, const proto::Command& k) { x.cmd_not_implemented(k); }},
        {"BDAT", [](Session& x, const proto::Command& k) { x.cmd_bdat(k); }},
        {"STARTTLS", [](Session& x, const proto::Command& k) { x.cmd_starttls(k); }},
        {"AUTH", [](Session& x, const proto::Command& k) { x.cmd_auth(k); }},
        {"XCLIENT", [](Session& x, const proto::Command& k) { x.cmd_xclient(k); }},
        {"XFORWARD", [](Session& x, const proto::Command& k) { x.cmd_xforward(k); }},
        {"GET", nullptr}, {"POST", nullptr},
    }};
    if (c.verb.empty() || !c.valid_verb || c.verb.back() == ':' || c.verb == "CONNECT") {
        // Not SMTP at all (an HTTP request, a header line sent as a command): Postfix's
        // smtpd_forbidden_commands. Talking on would only help a cross-protocol attack.
        if (c.verb == "CONNECT" || (!c.verb.empty() && c.verb.back() == ':')) {
            s.reply(554, "5.7.0", "Error: command not allowed");
            s.close_session("forbidden command");
            return;
        }
        s.cmd_unrecognized(c);
        return;
    }
    for (const auto& spec : kCommands) {
        if (spec.verb != c.verb) continue;
        if (!spec.run) {
            s.reply(554, "5.7.0", "Error: command not allowed");
            s.close_session("forbidden command");
            return;
        }
        if (auto refusal = out_of_sequence(s, spec.verb, spec.needs, c)) {
            if (spec.needs & kGroupEnd) s.refuse_data(*refusal);
            else s.reply(*refusal);
            return;
        }
        spec.run(s, c);
        return;
    }
    s.cmd_unrecognized(c);
}

}  // namespace asmtpd::smtp
