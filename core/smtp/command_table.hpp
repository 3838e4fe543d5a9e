// command_table.hpp - verb -> handler, one row per SMTP verb (OpenSMTPD's commands[] with
// Postfix's flag column). Checks that apply to every command (forbidden verbs such as HTTP
// requests sent to port 25) and the sequencing each verb needs (HELO first, MAIL before RCPT,
// AUTH first on submission ...: the row's columns) happen here, before any handler runs, so
// a handler only deals with its own arguments and hooks.
#pragma once

#include <optional>
#include <string_view>

#include "core/proto/command.hpp"
#include "core/proto/reply.hpp"

namespace asmtpd::smtp {

class Session;

struct CommandTable {
    static void dispatch(Session& s, const proto::Command& c);
    static std::optional<proto::Reply> out_of_sequence(const Session& s, std::string_view verb, unsigned needs,
                                                       const proto::Command& c);
};

}  // namespace asmtpd::smtp
