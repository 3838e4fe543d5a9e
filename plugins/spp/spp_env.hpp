// spp_env.hpp - the environment a qmail-spp program sees (SPP.md §3 and §5.2.9).
//
// Layers, later wins: the allow-listed server variables (PATH, TZ, LANG), then the connection's
// environment map. That map (proto::ConnectionInfo::env) starts as the per-client variables of
// tcp.env; the spp plugin adds tcpserver's variables, qmail-spp's own SMTP* variables and every
// S/U change to it, in the order they happen, exactly as qmail-smtpd's one process environment
// evolves. Never: pass the server's own environ (it may hold credentials), put client-supplied
// text anywhere but in values, or let a variable name carry '=' or NUL.
// Pure: no I/O except ServerEnv::capture() (getenv, at start-up). Owner: plugins/spp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/proto/address.hpp"
#include "core/proto/connection_info.hpp"
#include "plugins/spp/spp_output.hpp"

namespace asmtpd::plugins::spp {

// The server variables a child inherits.
struct ServerEnv {
    std::vector<std::pair<std::string, std::string>> vars;
    static ServerEnv capture();                           // from getenv: PATH, TZ, LANG
    static ServerEnv from(const std::vector<std::string>& environ_entries);   // "NAME=value" (tests)
};


// tcpserver's variables, added only where the map has none yet (tcp.env may override them):
// TCPLOCALIP, TCPLOCALPORT, TCPREMOTEIP, TCPREMOTEPORT, PROTO=TCP, TCPLOCALHOST=`hostname`,
// TCPREMOTEHOST only when the reverse name is known (never qmail's "unknown"), and for an
// IPv6 peer also ucspi-tcp6's TCP6* names. IPv4-mapped peers are shown as dotted quads.
void add_tcpserver_vars(const proto::ConnectionInfo& c, std::string_view hostname, EnvMap& env);

// The client the TCPREMOTE* variables describe. XFORWARD (a trusted proxy naming the original
// client for one transaction) changes the connection's address: follow_client() then replaces
// TCPREMOTEIP, TCPREMOTEPORT, TCPREMOTEHOST and the TCP6* variables with the forwarded
// client's, and puts back the values they had (tcp.env's included) once the address is the
// connect-time one again. A reverse name that arrives later alone changes nothing.
struct ClientVars {
    std::string ip;                  // the connection's address when the variables were set
    std::uint16_t port = 0;
    std::optional<EnvMap> saved;     // the variables as they were, while another client is shown
};
void follow_client(proto::ConnectionInfo& c, ClientVars& shown);

// "NAME=value" entries for io::ChildSpec::env. Entries whose name is empty or holds '=' or NUL,
// or whose value holds NUL, are skipped (they cannot be represented in an environment).
std::vector<std::string> child_environment(const ServerEnv& server, const EnvMap& env);

// qmail-spp's address form: no angle brackets, no quotes; "" for <>, "postmaster" for the bare one.
std::string env_address(const proto::Address& a);

// qmail-spp's variables, set before the section's programs run.
void set_helo_vars(EnvMap& env, std::string_view helo);                     // SMTPHELOHOST
void set_mail_address(EnvMap& env, const proto::Address& sender);         // SMTPMAILFROM
void set_rcpt_address(EnvMap& env, const proto::Address& rcpt);           // SMTPRCPTTO
// SMTPRCPTCOUNT (accepted before this one), SMTPRCPTCOUNTALL (this one included),
// SMTPRCPTHOSTSOK ("1" when the domain is local or the client may relay).
void set_rcpt_counters(EnvMap& env, std::size_t accepted_before, std::size_t seen_including, bool hosts_ok);
// [pass] (sagredo's spp_rcpt_accepted): SMTPRCPTCOUNT now counts the accepted recipient too,
// and SMTPRCPTTO is the address as stored (after C and the RELAYCLIENT suffix).
void set_pass_vars(EnvMap& env, const proto::Address& stored, std::size_t accepted_including);
// [auth] (eQmail's spp_auth): SMTPAUTHMETHOD as in qmail's table, lower case ("login",
// "plain", "cram-md5"), whatever case `mechanism` comes in; SMTPAUTHUSER the user name.
void set_auth_vars(EnvMap& env, std::string_view mechanism, std::string_view user);

}  // namespace asmtpd::plugins::spp
