// scan_exchange.hpp - one request and one reply with a content scanner (spamd, clamd): connect,
// send the request head, stream the message (header prefix, then the spool) in the scanner's
// framing, and read the reply until the scanner closes the connection (or, when the caller
// gives reply_complete, until the reply is whole: an HTTP server may keep the connection).
//
// Protocol knowledge stays with the caller: the head ("HEADERS SPAMC/1.5 ...", "zINSTREAM\0")
// and the reading of the reply (core/proto/spamd_reply, clamd_reply) are the plugin's. This
// file only moves bytes: framing Plain sends the message as it is (spamd counts it with
// Content-length), Chunked sends each piece as a 4-byte big-endian length and the bytes, then a
// zero length (clamd INSTREAM).
// Rules: done runs exactly once, always from a loop callback (never inside run_scan); every
// exchange has one total deadline (connect included), and the reply is capped, so a scanner
// that stalls or floods costs a bounded time and memory. The next spool piece is read only
// when the socket has taken the previous ones (memory stays flat for any message size). The
// exchange owns itself until done has run: the caller keeps nothing, and a session that ends
// meanwhile only means the answer is ignored (the caller's HookCall drops it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "core/client/next_hop.hpp"
#include "core/io/reactor.hpp"
#include "core/io/spool.hpp"

namespace asmtpd::io {
class TlsContext;
}

namespace asmtpd::client {

enum class ScanFraming { Plain, Chunked };

struct ScanRequest {
    NextHop target;                      // IP literal or localhost with a port, or a Unix socket
    std::string head;                    // sent first, as it is
    std::string message_prefix;          // the message starts with this (Received, added headers)
    std::shared_ptr<io::Spool> body;     // and goes on with the spool (may be null: no body)
    std::uint64_t body_offset = 0;       // from here (Transaction::body_offset)
    ScanFraming framing = ScanFraming::Plain;
    std::uint64_t connect_ms = 5000;     // the connect alone
    std::uint64_t total_ms = 30000;      // the whole exchange
    std::size_t max_reply = 1 << 20;     // more from the scanner is an error
    // When set: called with the reply so far after each read; true ends the exchange with
    // that reply at once (no need to wait for the close). Must be pure and cheap.
    std::function<bool(std::string_view reply)> reply_complete;
    // When set: TLS from the first byte (implicit TLS, e.g. imaps), with this client context
    // (core/client/client_tls.hpp); tls_name is sent as SNI and, when the context verifies,
    // checked against the certificate (a DNS name or an IP literal). A failed handshake is an
    // error like a failed connect.
    std::shared_ptr<io::TlsContext> tls;
    std::string tls_name;
};

struct ScanOutcome {
    std::string reply;         // everything the scanner sent before it closed
    std::string error;         // empty when the scanner answered and closed; else why not
    bool message_sent = false; // the whole message (and the end marker) reached the socket
    bool timed_out = false;    // the total deadline ended it (error says so too)
    std::uint64_t elapsed_ms = 0;

    bool ok() const { return error.empty(); }
};

// The message size the scanner will see: message_prefix + body from body_offset.
std::uint64_t scan_message_size(const ScanRequest& r);

void run_scan(const io::Reactor& reactor, ScanRequest request, std::function<void(ScanOutcome)> done);

}  // namespace asmtpd::client
