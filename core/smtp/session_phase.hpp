// session_phase.hpp - where a session is in its life. Protocol facts (HELO seen, transaction
// open) live in fields of their own; the phase only says what input means right now.
// Ordered so that `phase >= Phase::Closing` means the session is dying.
#pragma once

#include <string_view>

namespace asmtpd::smtp {

enum class Phase {
    Greeting,   // pre_connection / connect chains running; input is buffered, not read as commands
    Command,    // reading command lines (a chain may be running for the last one)
    Data,       // reading message content up to CRLF.CRLF
    Closing,    // last reply queued; required hooks done; waiting for the output to drain
    Closed,     // the transport is closed; waiting to be destroyed
};

constexpr std::string_view phase_name(Phase p) {
    switch (p) {
        case Phase::Greeting: return "greeting";
        case Phase::Command: return "command";
        case Phase::Data: return "data";
        case Phase::Closing: return "closing";
        case Phase::Closed: return "closed";
    }
    return "?";
}

// Allowed moves; anything else is a bug and is logged by Session::enter.
constexpr bool phase_transition_ok(Phase from, Phase to) {
    if (to == Phase::Closing) return from < Phase::Closing;
    if (to == Phase::Closed) return from == Phase::Closing;
    if (from == Phase::Greeting) return to == Phase::Command;
    if (from == Phase::Command) return to == Phase::Data;
    if (from == Phase::Data) return to == Phase::Command;
    return false;
}

}  // namespace asmtpd::smtp
