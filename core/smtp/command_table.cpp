// command_table.cpp - the verb table and the dispatch of one parsed command line.
#include "core/smtp/command_table.hpp"

#include <array>
#include <string_view>

#include "core/smtp/session.hpp"

namespace asmtpd::smtp {

namespace {
struct CommandSpec {
    std::string_view verb;
    void (*run)(Session&, const proto::Command&);
};
}  // namespace

void CommandTable::dispatch(Session& s, const proto::Command& c) {
    static constexpr std::array<CommandSpec, 18> kCommands{{
        {"HELO", [](Session& x, const proto::Command& k) { x.cmd_helo(k, false); }},
        {"EHLO", [](Session& x, const proto::Command& k) { x.cmd_helo(k, true); }},
        {"MAIL", [](Session& x, const proto::Command& k) { x.cmd_mail(k); }},
        {"RCPT", [](Session& x, const proto::Command& k) { x.cmd_rcpt(k); }},
        {"DATA", [](Session& x, const proto::Command& k) { x.cmd_data(k); }},
        {"RSET", [](Session& x, const proto::Command& k) { x.cmd_rset(k); }},
        {"NOOP", [](Session& x, const proto::Command& k) { x.cmd_noop(k); }},
        {"QUIT", [](Session& x, const proto::Command& k) { x.cmd_quit(k); }},
        {"VRFY", [](Session& x, const proto::Command& k) { x.cmd_vrfy(k); }},
        {"HELP", [](Session& x, const proto::Command& k) { x.cmd_help(k); }},
        {"EXPN", [](Session& x, const proto::Command& k) { x.cmd_not_implemented(k); }},
        {"TURN", [](Session& x, const proto::Command& k) { x.cmd_not_implemented(k); }},
        {"ETRN", [](Session& x, const proto::Command& k) { x.cmd_not_implemented(k); }},
        {"BDAT", [](Session& x, const proto::Command& k) { x.cmd_not_implemented(k); }},
        {"STARTTLS", [](Session& x, const proto::Command& k) { x.cmd_starttls(k); }},
        {"AUTH", [](Session& x, const proto::Command& k) { x.cmd_auth(k); }},
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
        spec.run(s, c);
        return;
    }
    s.cmd_unrecognized(c);
}

}  // namespace asmtpd::smtp
