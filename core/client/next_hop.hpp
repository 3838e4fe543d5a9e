// next_hop.hpp - where and how a queue plugin hands mail on over SMTP or LMTP: the address
// of the next hop and the client's limits, parsed from the plugin's arguments.
//
// Shared by queue/smtp_forward and queue/lmtp (plugins never include each other). Pure
// parsing: no I/O. A host is an IP literal, "localhost" (127.0.0.1, no DNS) or a DNS name,
// resolved per delivery (core/client/route_lookup.hpp); the word "mx" (SMTP only) means "the
// MX hosts of each recipient domain" (RFC 5321 §5.1).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::io {
class TlsContext;
}

namespace asmtpd::client {

enum class NextHopProtocol { Smtp, Lmtp };

struct NextHop {
    bool unix_socket = false;
    bool mx = false;           // "mx": the recipient domains' MX hosts (port: `port N`)
    std::string host;          // IP literal without brackets, "localhost", or a DNS name
    std::uint16_t port = 25;
    std::string path;          // Unix-domain socket (unix_socket)

    // A name the resolver must turn into addresses (not a literal, not localhost, not mx).
    bool needs_dns() const;
    std::string describe() const;   // "127.0.0.1:25", "[::1]:24", "unix:/run/lmtp", "mx:25"
};

// A host name as DNS could hold it (RFC 1123 labels: letters, digits, '-', '_' tolerated,
// 1..63 octets each, no '-' at either end, 253 in all; one final dot allowed; the last label
// not all digits).
bool valid_host_name(std::string_view name);

// "host", "host:port", "[v6]:port", "v6" (no port), or an absolute path "/run/lmtp".
// Error text on failure.
std::optional<NextHop> parse_next_hop(std::string_view text, std::uint16_t default_port, std::string& error);

struct ClientLimits {
    std::uint64_t connect_ms = 10000;     // TCP/Unix connect
    std::uint64_t command_ms = 60000;     // greeting, each command reply, each body write
    std::uint64_t data_end_ms = 300000;   // each reply after the final dot
    std::uint64_t idle_ms = 30000;        // a pooled connection unused this long is closed
    std::uint64_t total_ms = 540000;      // one whole delivery, waiting for a connection included
    std::size_t max_connections = 20;     // per worker loop; more deliveries wait (FIFO)
};

// STARTTLS (RFC 3207) and AUTH (RFC 4954) towards the next hop (queue/smtp_forward only).
//   None           never STARTTLS (the default: what the plugin always did)
//   Opportunistic  STARTTLS when the EHLO reply offers it, plaintext otherwise; without
//                  verify (Postfix's smtp_tls_security_level=may) a failed handshake is
//                  retried once over a new plaintext connection
//   Required       no STARTTLS offer, or a failed handshake: nothing is sent (4xx)
// Postfix's level names are accepted too: may (opportunistic, no verify), encrypt (required,
// no verify), verify and secure (required, verify).
enum class TlsMode { None, Opportunistic, Required };
std::string_view to_string(TlsMode m);

struct ClientSecurity {
    TlsMode tls = TlsMode::None;
    bool verify = false;          // the chain must verify against ca_file and match tls_name
    std::string ca_file;          // PEM; empty: the system store
    std::string tls_name;         // SNI and the name checked; default the configured host
    std::string auth_user;        // empty: no AUTH
    std::string auth_pass_file;   // first line is the password (load_client_security reads it)
    std::string auth_pass;        // from auth_pass, or loaded from auth_pass_file
    bool auth_plaintext = false;  // AUTH also without TLS (else never)
    std::shared_ptr<io::TlsContext> context;   // made by load_client_security (client_tls.hpp)

    bool wants_auth() const { return !auth_user.empty(); }
    // Postfix's "may": a failed TLS handshake is retried once in plaintext. Never with verify.
    bool plaintext_fallback() const { return tls == TlsMode::Opportunistic && !verify; }
};

struct ClientConfig {
    NextHop hop;
    NextHopProtocol protocol = NextHopProtocol::Smtp;
    ClientLimits limits;
    std::uint64_t dns_ms = 5000;          // budget of one route's DNS lookups (dns_timeout)
    ClientSecurity security;
};

// args = the plugin's words: the next hop first (or "mx", SMTP only), then "key value" pairs:
//   max_connections N   timeout S (command_ms)   connect_timeout S   data_timeout S
//   idle_timeout S      total_timeout S          dns_timeout S (default 5)
//   port N              (mx only: the MX hosts' port, default 25; for tests and odd setups)
//   SMTP only (see ClientSecurity; parse_client_security):
//   tls none|opportunistic|required (or Postfix's may|encrypt|verify|secure)
//   tls_verify yes|no   ca_file PATH   tls_name NAME
//   auth_user USER   auth_pass_file PATH | auth_pass PASSWORD   auth_plaintext yes|no
// max_connections counts per worker loop and per next-hop address.
// S are seconds, fractions allowed. total_timeout must leave the client time: it defaults to
// 540 s (RFC 5321 §4.5.3.2.6 gives a client 10 minutes for the final reply) and may not be
// shorter than connect + command timeouts. Returns an error message or nullopt.
std::optional<std::string> parse_client_config(const std::vector<std::string>& args, NextHopProtocol protocol,
                                               ClientConfig& out);

// The security keys' part of parse_client_config (next_hop_security.cpp), given the keys'
// values as parsed. Rules: tls_verify defaults to yes with `tls required`, no with
// `opportunistic`; Postfix's levels fix it (may, encrypt: no; verify, secure: yes), and a
// tls_verify that contradicts the level is an error; tls_verify/ca_file/tls_name need tls; "mx" takes neither tls_verify yes
// nor tls_name nor AUTH (MX host names are not authenticated without DANE or MTA-STS, and
// credentials would go to any MX); a Unix socket takes no tls; auth_user needs exactly one
// of auth_pass_file and auth_pass, and tls unless auth_plaintext yes.
struct SecurityArgs {
    std::optional<std::string> tls, tls_verify, ca_file, tls_name, auth_user, auth_pass_file, auth_pass,
        auth_plaintext;
};
std::optional<std::string> parse_client_security(const SecurityArgs& a, NextHopProtocol protocol,
                                                 const NextHop& hop, ClientSecurity& out);

}  // namespace asmtpd::client
