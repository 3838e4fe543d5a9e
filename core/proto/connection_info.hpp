// connection_info.hpp - what is known about the peer of one session.
//
// Filled by the server at accept time (addresses), by the session as the dialogue goes on
// (HELO, TLS, AUTH) and by plugins (relay_client). Plugins read it through hooks::Context.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

namespace asmtpd::proto {

enum class Hello { None, Helo, Ehlo };

struct ConnectionInfo {
    std::uint64_t id = 0;           // session id, printed as %016x in logs
    std::string remote_ip;          // textual, no brackets ("127.0.0.1", "::1")
    std::uint16_t remote_port = 0;
    std::string local_ip;
    std::uint16_t local_port = 0;
    std::string remote_host;        // reverse DNS name when known, else empty
    Hello hello = Hello::None;
    std::string helo_host;          // argument of the last HELO/EHLO
    bool relay_client = false;      // may send to any domain (relay plugin, AUTH)
    bool tls = false;
    std::string tls_version, tls_cipher;
    std::string auth_user, auth_method;
    std::map<std::string, std::string> env;  // per-client environment (tcp.env / RELAYCLIENT ...)
    std::size_t connections_from_ip = 1;     // open sessions from remote_ip, this one included
    std::size_t errors = 0;                  // 4xx/5xx replies so far (421 not counted; Haraka's errors)

    // "[1.2.3.4]" style literal used in replies and the Received header.
    std::string remote_literal() const { return "[" + remote_ip + "]"; }
    // The qpsmtpd remote_info: rDNS name if known, else "Unknown".
    std::string remote_info() const { return remote_host.empty() ? "Unknown" : remote_host; }
};

}  // namespace asmtpd::proto
