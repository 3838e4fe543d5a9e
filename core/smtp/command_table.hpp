// command_table.hpp - verb -> handler, one row per SMTP verb (OpenSMTPD's commands[] with
// Postfix's flag column). Checks that apply to every command (forbidden verbs such as HTTP
// requests sent to port 25) happen here, before any handler runs.
#pragma once

#include "core/proto/command.hpp"

namespace asmtpd::smtp {

class Session;

struct CommandTable {
    static void dispatch(Session& s, const proto::Command& c);
};

}  // namespace asmtpd::smtp
