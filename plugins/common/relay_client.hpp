// relay_client.hpp - qmail-smtpd's RELAYCLIENT suffix. qmail reads RELAYCLIENT once, when the
// session starts (tcprules / our tcp.env); for a relay client its value is appended to every
// accepted recipient ("RELAYCLIENT=@gw.example" routes everything through one domain), and a
// successful AUTH makes it "" (qmail's AUTH patches). Later changes of the session environment
// (spp "S RELAYCLIENT=x", SPP.md §4) are seen by programs but never change the suffix.
//
// The value as the session started is kept in the connection note kRelayClientNote, written
// once by whoever sees the environment first (the relay and spp plugins at connect, AUTH);
// without the note nothing can have changed the environment, so its value counts.
// Never: append to a recipient of a client that is not a relay client, or produce an address
// the RFC 5321 parser would refuse. Pure: no I/O, no logging. Owner: rcpt/relay handling.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/proto/address.hpp"
#include "core/proto/connection_info.hpp"
#include "hooks/notes.hpp"

namespace asmtpd::plugins {

// Note value: "-" (RELAYCLIENT was not set) or "=" followed by its value.
inline constexpr std::string_view kRelayClientNote = "relayclient";

// Records the environment's RELAYCLIENT in notes, unless a value is recorded already.
void note_relay_client(const proto::ConnectionInfo& c, hooks::Notes& notes);
// After a successful AUTH: the suffix is "" from now on, whatever was recorded (qmail's
// relayclient = "").
void note_relay_client_auth(hooks::Notes& notes);

// The suffix for the next accepted recipient: nullopt when the client is not a relay client
// or RELAYCLIENT was not set as the session started; "" is the common "relay, no suffix".
std::optional<std::string> relay_suffix(const proto::ConnectionInfo& c, const hooks::Notes& notes);

// qmail appends the suffix to the address text "local@domain" (or the bare local part), and
// its delivery side splits that text at the last '@'. nullopt when the result is not a valid
// RFC 5321 recipient (over-long, control bytes, a bare word that is not postmaster).
std::optional<proto::Address> append_relay_suffix(const proto::Address& a, std::string_view suffix);

}  // namespace asmtpd::plugins
