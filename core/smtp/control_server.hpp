// control_server.hpp - the control socket (asmtpd.yaml `control:`): asmtpd-ctl's requests
// over a Unix-domain socket, on one libuv loop: the supervisor's with several workers, the
// worker's with `workers: 1`. The protocol is core/proto/control_protocol.hpp.
//
// Rules: who may connect is the socket file's business (owner, group, mode; made before the
// privilege drop, core/io/unix_listen.hpp); nothing here trusts the bytes. Requests on one
// connection are answered one at a time and in order: the next line is not parsed before the
// handler has answered the last (a reload waits for the workers). A connection idle for
// kIdleMs, one that sends a line longer than kMaxControlLine, or one over max_connections is
// closed. An answer that comes after its connection has gone is dropped. A connection is
// destroyed from a fresh loop iteration, never inside its own callback.
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <memory>
#include <string>

#include <uv.h>

#include "core/io/listener.hpp"
#include "core/io/log.hpp"
#include "core/io/timer.hpp"
#include "core/proto/control_protocol.hpp"

namespace asmtpd::smtp {

class ControlServer {
public:
    // The one reply line of a request (control_ok_reply / control_error_reply). Call it once,
    // now or later; after the connection is gone it does nothing.
    using Answer = std::function<void(std::string reply_line)>;
    using Handler = std::function<void(proto::ControlVerb verb, Answer answer)>;
    static constexpr std::uint64_t kIdleMs = 60000;
    static constexpr std::size_t kMaxConnections = 16;

    // Serves the bound, listening socket fd (owned from here on, also on failure: null, error).
    static std::unique_ptr<ControlServer> adopt(uv_loop_t* loop, int fd, Handler handler, io::Log log,
                                                std::string& error);
    ~ControlServer();
    ControlServer(const ControlServer&) = delete;
    ControlServer& operator=(const ControlServer&) = delete;

    // Stops listening and closes open connections once what they were answered is written;
    // idempotent.
    void close();
    std::size_t open_connections() const { return conns_.size(); }

    struct Conn;   // one client (public for control_server.cpp only)

private:
    ControlServer(uv_loop_t* loop, Handler handler, io::Log log);
    void accepted(std::unique_ptr<io::TcpStream> stream);
    void retire(Conn* c);
    void next_request(Conn& c);
    friend struct Conn;

    uv_loop_t* loop_;
    Handler handler_;
    io::Log log_;
    std::unique_ptr<io::Listener> listener_;
    std::list<std::shared_ptr<Conn>> conns_;
    std::list<std::shared_ptr<Conn>> retired_;
    io::Timer reaper_;
};

}  // namespace asmtpd::smtp
