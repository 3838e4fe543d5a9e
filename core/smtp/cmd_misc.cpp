// cmd_misc.cpp - QUIT, NOOP, VRFY, HELP, unknown and unimplemented verbs: each runs its hook
// and lets hooks/defaults.cpp pick the reply.
#include "core/smtp/session.hpp"

namespace asmtpd::smtp {

void Session::cmd_quit(const proto::Command&) {
    run_chain(hooks::Hook::Quit, hooks::NoArgs{}, [this](const hooks::Verdict&, const hooks::Disposition& d) {
        if (d.action == hooks::Action::RespondClose) {
            proto::Reply r = d.reply;
            if (r.code == 221 && r.lines.size() == 1 && r.lines[0] == "closing connection")
                r.lines[0] = runtime_->facts.hostname + " closing connection";
            reply(r);
            close_session("quit");
            return;
        }
        close_session("quit (plugin answered)");
    });
}

void Session::cmd_noop(const proto::Command& c) {
    run_chain(hooks::Hook::Noop, hooks::ArgumentArgs{c.args},
              [this](const hooks::Verdict&, const hooks::Disposition& d) { handle_refusal(d); });
}

void Session::cmd_vrfy(const proto::Command& c) {
    if (c.args.empty()) {
        reply(501, "5.5.4", "Syntax: VRFY address");
        return;
    }
    run_chain(hooks::Hook::Vrfy, hooks::ArgumentArgs{c.args},
              [this](const hooks::Verdict&, const hooks::Disposition& d) { handle_refusal(d); });
}

void Session::cmd_help(const proto::Command& c) {
    run_chain(hooks::Hook::Help, hooks::ArgumentArgs{c.args},
              [this](const hooks::Verdict&, const hooks::Disposition& d) { handle_refusal(d); });
}

void Session::cmd_unrecognized(const proto::Command& c) {
    run_chain(hooks::Hook::UnrecognizedCommand, hooks::CommandArgs{c.verb, c.args},
              [this](const hooks::Verdict&, const hooks::Disposition& d) { handle_refusal(d); });
}

void Session::cmd_not_implemented(const proto::Command& c) {
    // Known SMTP verbs we do not offer: 502 rather than the 500 of a verb nobody knows.
    if (c.verb == "BDAT") {
        // RFC 3030 wants the chunk read even when refused; we never advertised CHUNKING, so a
        // client sending BDAT is broken: refuse and close instead of guessing at the framing.
        reply(502, "5.5.1", "Error: command not implemented");
        close_session("BDAT without CHUNKING");
        return;
    }
    reply(502, "5.5.1", "Error: command not implemented");
}

}  // namespace asmtpd::smtp
