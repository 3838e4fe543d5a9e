// milter_settings.hpp - the milter plugin's arguments (its SYNOPSIS, in milter.cpp) read into
// values: the filter's address, Postfix's time limits and default_action, the macro lists,
// and connection reuse. Pure: an error text naming the argument, or the settings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/client/milter_client.hpp"
#include "plugins/milter/milter_macros.hpp"

namespace asmtpd::plugins::milter {

enum class DefaultAction { Tempfail, Accept, Reject };

struct Settings {
    client::NextHop target;
    client::MilterTimeouts timeouts;
    DefaultAction default_action = DefaultAction::Tempfail;
    MacroLists macros = default_macro_lists();
    std::size_t reuse = 0;                 // idle connections kept per worker between sessions
    std::uint64_t reuse_idle_ms = 60000;   // a parked connection older than this is closed
};

std::optional<std::string> parse_settings(const std::vector<std::string>& line_args, Settings& s);

}  // namespace asmtpd::plugins::milter
