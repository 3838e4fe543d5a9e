// defaults.hpp - what a hook's final verdict means for the session: one table instead of
// qpsmtpd's twenty *_respond functions (see the hook table in docs/DESIGN.md §3).
//
// Fails closed: a rcpt that nobody OKs gets 450, a queue that nobody takes gets 451, AUTH
// credentials nobody OKs get 535. The after-the-fact hooks rcpt_post and auth_post proceed when
// every plugin declines (the recipient / the credentials were accepted already).
// Deviations from qpsmtpd, on purpose: a refused connection gets 554 / 421 (RFC 5321 §3.1)
// instead of 550 / 450, and queue_pre denials always get a reply.
#pragma once

#include "core/proto/reply.hpp"
#include "hooks/hook.hpp"
#include "hooks/result.hpp"

namespace asmtpd::hooks {

enum class Action {
    Proceed,       // success path: the session goes on and sends its own positive reply
    Respond,       // send `reply`, stay in the current state
    RespondClose,  // send `reply`, then close the connection
    Silent,        // DONE: the plugin answered itself; send nothing
    SilentClose,   // close without a reply (spp "D", quit DONE)
};

struct Disposition {
    Action action = Action::Proceed;
    proto::Reply reply;   // for Respond*: the reply; for Proceed: the default positive reply
};

// Maps (hook, verdict) to a disposition. The verdict's text replaces the default text; a
// verdict reply replaces code and text when its code class fits the result (else the default
// code is kept and only the text is used). Verdict flags: close_silently turns any refusal
// into SilentClose; verbatim keeps a fitting reply's enhanced code as given (possibly none);
// keep_session turns a connect RespondClose into Respond (the session goes on).
Disposition dispose(Hook hook, const Verdict& v);

}  // namespace asmtpd::hooks
