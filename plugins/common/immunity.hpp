// immunity.hpp - qpsmtpd's is_immune(): sessions the policy plugins (SPF, DNSBL, helo, ...)
// leave alone. A session is immune when the client may relay (relay plugin, RELAYCLIENT),
// has authenticated, or the whitelist plugin set the connection note "whitelisthost" or the
// transaction note "whitelistsender" (QPSMTPD.md: whitelisthelo is deliberately not honoured).
// Pure: reads the context, changes nothing.
#pragma once

#include <string_view>

#include "hooks/context.hpp"

namespace asmtpd::plugins {

inline constexpr std::string_view kWhitelistHostNote = "whitelisthost";
inline constexpr std::string_view kWhitelistSenderNote = "whitelistsender";

// nullopt-like empty view when not immune, else why ("relay client", "authenticated", ...).
std::string_view immunity(hooks::Context& ctx);
inline bool is_immune(hooks::Context& ctx) { return !immunity(ctx).empty(); }

}  // namespace asmtpd::plugins
