// dovecot_auth.hpp - one worker loop's connection to Dovecot's auth server (the socket Postfix's
// smtpd_sasl_type=dovecot uses), kept open and shared by every AUTH of the loop: requests are
// multiplexed by id (core/proto/dovecot_auth.hpp has the protocol).
//
// Life of the connection: opened by the first request (Unix socket or IP literal:port), the
// handshake (VERSION 1.x, the mechanism list, DONE) checked, then requests are sent as they
// come; requests made before DONE wait for it. Any failure (connect refused, EOF, a line that
// is not the protocol, a major version other than 1, no PLAIN mechanism) fails every pending
// request as Temporary and drops the connection; the next request reconnects. A request that
// times out before the handshake ended drops the connection too (a stuck server is not waited
// for twice); one that times out after it only gets its answer ignored.
// Shutdown: an open connection keeps the loop alive, so while one is open the client watches
// SIGTERM and SIGINT (as SmtpPool does) and then closes it as soon as no request is pending;
// shutdown() does the same (a reload that drops the plugin).
// Rules: done runs exactly once per request, always from a loop callback (never inside
// authenticate()). Each request has one deadline (connect and handshake included). Only the
// loop's thread uses a client. The password is in the request line only; nothing here logs.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include <uv.h>

#include "core/client/next_hop.hpp"
#include "core/io/reactor.hpp"
#include "core/io/signals.hpp"
#include "core/io/stream.hpp"

namespace asmtpd::io {
class Connecting;
}  // namespace asmtpd::io

namespace asmtpd::client {

struct DovecotAuthQuery {
    std::string user, password;
    std::string service = "smtp";
    std::string local_ip, remote_ip;
    std::uint16_t local_port = 0, remote_port = 0;
    bool secured = false;   // the SMTP session runs over TLS
};

enum class DovecotVerdict { Ok, Fail, Temporary };

struct DovecotAuthAnswer {
    DovecotVerdict verdict = DovecotVerdict::Temporary;
    std::string user;     // OK/FAIL: Dovecot's user= (its canonical name), may be empty
    std::string detail;   // for the log: Dovecot's reason=, or why the request could not be made
    std::uint64_t elapsed_ms = 0;
};

class DovecotAuthClient final : public io::StreamListener, public std::enable_shared_from_this<DovecotAuthClient> {
public:
    static std::shared_ptr<DovecotAuthClient> create(const io::Reactor& reactor, NextHop target,
                                                     std::uint64_t timeout_ms);
    ~DovecotAuthClient() override;
    DovecotAuthClient(const DovecotAuthClient&) = delete;
    DovecotAuthClient& operator=(const DovecotAuthClient&) = delete;

    void authenticate(DovecotAuthQuery q, std::function<void(DovecotAuthAnswer)> done);
    // Close the connection once nothing is pending (later requests reopen it and close again).
    void shutdown();

    bool connected() const { return state_ == State::Ready; }
    std::uint64_t connections_made() const { return connections_made_; }
    const NextHop& target() const { return target_; }

    // StreamListener (the connection)
    void on_read(std::string_view bytes) override;
    void on_eof() override;

    struct Pending;

private:
    enum class State { Closed, Connecting, Handshake, Ready };
    DovecotAuthClient(const io::Reactor& reactor, NextHop target, std::uint64_t timeout_ms);
    void connect();
    void on_connected(std::unique_ptr<io::Transport> t, std::string error);
    void handle_line(std::string_view line);
    void send(Pending& p);
    void finish(std::uint32_t id, DovecotAuthAnswer a);
    void expire(std::uint32_t id);
    void drop(const std::string& why);   // close and fail everything pending
    void close_if_idle();
    void watch_signals();

    io::Reactor reactor_;
    NextHop target_;
    std::uint64_t timeout_ms_;
    State state_ = State::Closed;
    bool draining_ = false;
    bool have_plain_ = false;
    std::uint32_t next_id_ = 0;
    std::uint64_t connections_made_ = 0;
    std::string inbuf_;
    std::map<std::uint32_t, std::shared_ptr<Pending>> pending_;
    std::unique_ptr<io::Connecting> connecting_;
    std::unique_ptr<io::Transport> conn_;
    std::unique_ptr<io::StopSignals> stop_signals_;
};

}  // namespace asmtpd::client
