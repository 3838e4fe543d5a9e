// milter_macros.hpp - the sendmail macros a milter gets at each step ({j}, {client_addr}, i,
// {auth_authen}, ...): which ones (Postfix's milter_*_macros defaults, the plugin's arguments,
// or the list the filter asked for with SETSYMLIST) and their values from the session.
//
// Values come from the connection and the transaction only; a macro with no value (no TLS, no
// AUTH, an unknown name) is not sent, as Postfix leaves undefined macros out.
#pragma once

#include <array>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/milter_packet.hpp"
#include "hooks/context.hpp"

namespace asmtpd::plugins::milter {

using MacroLists = std::array<std::vector<std::string>, proto::milter::kStageCount>;

// Postfix's defaults (milter_connect_macros ... milter_end_of_data_macros), with the client's
// address, name and port added at connect.
MacroLists default_macro_lists();

// "i,{auth_type},{auth_authen}" (commas or spaces), or "none": the names. Error text on a name
// that cannot be a macro ("{x" without its brace, controls, NUL).
std::optional<std::vector<std::string>> parse_macro_list(std::string_view text, std::string& error);

// The argument name of a stage's list ("connect_macros", ..., "end_of_data_macros").
std::string_view macro_arg_name(proto::milter::Stage s);

// The macro command's stage letter ('C', 'H', 'M', 'R', 'T', 'E', 'N').
char stage_command(proto::milter::Stage s);

// Values for `names` at this point of the session; `sender` is the address of the MAIL being
// decided (else the transaction's), `rcpt` the recipient at the rcpt stage.
proto::milter::Macros macro_values(hooks::Context& ctx, const std::vector<std::string>& names,
                                   const proto::Address* sender = nullptr, const proto::Address* rcpt = nullptr);

}  // namespace asmtpd::plugins::milter
