// milter_client.hpp - one connection to a milter (sendmail/Postfix mail filter protocol 6),
// kept for a whole SMTP session: option negotiation, then commands and their replies, and the
// end-of-message exchange with the message streamed from the spool.
//
// Protocol knowledge about *what* to send at each SMTP step is the caller's (plugins/milter);
// this file moves packets (core/proto/milter_packet), waits for replies under the Postfix time
// limits (connect, command, content), streams the body in BODY chunks of at most 65535 octets
// and collects the modifications a filter sends before its final answer (a replaced body goes
// to a new spool file, never into memory whole).
// Rules: one exchange at a time (a second request while one is pending fails at once); every
// done callback runs exactly once, from a loop callback, never inside the call that started it;
// PROGRESS restarts the current deadline. Any error (connect, timeout, a packet that does not
// parse, a reply nobody asked for, the filter closing) leaves the connection broken(): it is
// closed and every later request fails at once. close() drops a pending callback (it never
// runs). The object is held by its owner (shared_ptr); pending I/O holds only weak references.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/client/next_hop.hpp"
#include "core/io/reactor.hpp"
#include "core/io/spool.hpp"
#include "core/proto/milter_packet.hpp"

namespace asmtpd::client {

// Postfix's milter address syntax: "unix:/path" (also "local:/path"), "inet:port@host" or
// "inet:host:port"; host is an IP literal or localhost (no DNS on this path). Error text on
// failure.
std::optional<NextHop> parse_milter_socket(std::string_view text, std::string& error);

struct MilterTimeouts {
    std::uint64_t connect_ms = 30000;    // milter_connect_timeout
    std::uint64_t command_ms = 30000;    // milter_command_timeout: each reply to a command
    std::uint64_t content_ms = 300000;   // milter_content_timeout: body chunks and end of message
};

struct MilterAnswer {
    std::optional<proto::milter::Reply> reply;   // the final reply; empty when none was needed
    std::vector<proto::milter::Reply> changes;   // modifications before it (end of message)
    std::shared_ptr<io::Spool> new_body;         // REPLBODY: body_prefix + the filter's body
    std::string error;                           // non-empty: failed, the connection is broken

    bool ok() const { return error.empty(); }
};

// The end-of-message exchange (after DATA): packets up to the body (macros, headers, EOH),
// each waiting for a reply or not; then the body from the spool; then the end packets.
struct MilterMessage {
    struct Step {
        std::string bytes;
        bool wants_reply = true;
    };
    std::vector<Step> head;                 // HEADER ... EOH: stop at the first answer but CONTINUE
    std::shared_ptr<io::Spool> spool;       // null or send_body false: no BODY packets
    std::uint64_t body_from = 0;            // the body starts here in the spool
    bool send_body = true;
    bool body_replies = true;               // false when the filter asked NR_BODY
    std::string end;                        // macros + BODYEOB: the final exchange
    std::string spool_dir;                  // where a replaced body is written
    std::string body_prefix;                // the header block and empty line a new body follows
};

class MilterConnection final : public std::enable_shared_from_this<MilterConnection> {
public:
    static std::shared_ptr<MilterConnection> create(const io::Reactor& reactor, NextHop target,
                                                    MilterTimeouts timeouts);
    ~MilterConnection();
    MilterConnection(const MilterConnection&) = delete;
    MilterConnection& operator=(const MilterConnection&) = delete;

    // Connects and negotiates: OPTNEG with version 6, `actions` and `protocol` offered; the
    // filter's answer must not ask for more than was offered.
    void open(std::uint32_t actions, std::uint32_t protocol, std::function<void(std::string error)> done);
    const proto::milter::OptNeg& negotiated() const { return negotiated_; }

    // Queues packets that get no reply (MACRO, ABORT, commands under an NR_* flag); they go
    // out with the next exchange (one write) or the QUIT.
    void send(std::string bytes);
    // Writes packets, then waits up to timeout_ms for the final reply.
    void request(std::string bytes, std::uint64_t timeout_ms, std::function<void(MilterAnswer)> done);
    // The end-of-message exchange (see MilterMessage).
    void message(MilterMessage m, std::function<void(MilterAnswer)> done);
    // QUIT (when quit and the connection works), then close. Idempotent; drops a pending callback.
    void close(bool quit);
    // QUIT_NC ("quit, a new connection follows", protocol 6): the filter ends its session and
    // waits for the next CONNECT on this connection, without a new option negotiation. Only
    // after an end of message answered CONTINUE, the one point where libmilter's state table
    // allows it (the caller knows; libmilter ignores it anywhere else). False
    // (nothing sent) when the connection is broken, busy or speaks an older version. While
    // parked, anything from the filter (data or its close) leaves the connection broken().
    bool park();

    bool broken() const { return broken_; }
    bool busy() const;
    const NextHop& target() const { return target_; }
    const MilterTimeouts& timeouts() const { return timeouts_; }

    struct Impl;   // the socket side (public only for the callbacks in milter_client.cpp)

private:
    MilterConnection(const io::Reactor& reactor, NextHop target, MilterTimeouts timeouts);

    io::Reactor reactor_;
    NextHop target_;
    MilterTimeouts timeouts_;
    proto::milter::OptNeg negotiated_;
    bool broken_ = false;
    std::unique_ptr<Impl> impl_;
    friend struct Impl;
};

}  // namespace asmtpd::client
