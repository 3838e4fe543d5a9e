// client_tls.hpp - a TLS client context for a plugin's outbound exchange (auth/imap's imaps),
// made once at start-up and shared by every connection, so plugins need not include
// core/io/tls.hpp (the daemon's) to get one.
//
// verify: the server's chain must verify against ca_file (a PEM file; empty: the system store)
// and match the name the exchange gives (ScanRequest::tls_name). Without verify the session is
// encrypted but the server unauthenticated (opportunistic, as MTAs do by default).
#pragma once

#include <memory>
#include <string>

namespace asmtpd::io {
class TlsContext;
}

namespace asmtpd::client {

// Null on failure, with a one-line error naming the file and OpenSSL's reason. TLS 1.2 at least.
std::shared_ptr<io::TlsContext> client_tls_context(bool verify, const std::string& ca_file, std::string& error);

}  // namespace asmtpd::client
