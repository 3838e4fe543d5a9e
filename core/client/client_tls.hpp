// client_tls.hpp - a TLS client context for a plugin's outbound exchange (auth/imap's imaps,
// queue/smtp_forward's STARTTLS), made once at start-up and shared by every connection, so
// plugins need not include core/io/tls.hpp (the daemon's) to get one.
//
// verify: the server's chain must verify against ca_file (a PEM file; empty: the system store)
// and match the name the exchange gives (ScanRequest::tls_name). Without verify the session is
// encrypted but the server unauthenticated (opportunistic, as MTAs do by default).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "core/client/next_hop.hpp"

namespace asmtpd::io {
class TlsContext;
}

namespace asmtpd::client {

// Null on failure, with a one-line error naming the file and OpenSSL's reason. TLS 1.2 at least.
std::shared_ptr<io::TlsContext> client_tls_context(bool verify, const std::string& ca_file, std::string& error);

// The I/O half of parse_client_security, at start-up: the TLS context (when tls is not none)
// and the password from auth_pass_file (its first line, without the line end; the file
// should be readable by the daemon only). Returns an error naming the file, or nullopt.
std::optional<std::string> load_client_security(ClientSecurity& s);

}  // namespace asmtpd::client
