// metrics_server.hpp - the HTTP/1.1 endpoint that serves GET /metrics (asmtpd.yaml
// `metrics.listen`), on one libuv loop: the supervisor's with several workers, the worker's
// with `workers: 1`.
//
// Rules: one request per connection (the answer says Connection: close); the whole request
// head must arrive within the request timeout (slowloris: a client that trickles bytes gets
// 408 and the close), at most kMaxHttpRequestHead bytes (431), and at most max_connections
// are open at once (more are closed on accept). GET and HEAD of /metrics answer 200 with the
// text exposition, another path 404, another method 405 (Allow: GET, HEAD), a malformed head
// 400 (505 for a version other than 1.x). A connection is destroyed from a fresh loop
// iteration, never inside its own callback.
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

namespace asmtpd::smtp {

struct MetricsServerOptions {
    std::uint64_t request_timeout_ms = 5000;
    std::size_t max_connections = 16;
};

class MetricsServer {
public:
    using Render = std::function<std::string()>;

    // Serves the bound, listening socket fd (owned from here on, also on failure: null, error).
    static std::unique_ptr<MetricsServer> adopt(uv_loop_t* loop, int fd, Render render, io::Log log,
                                                std::string& error, MetricsServerOptions options = {});
    ~MetricsServer();
    MetricsServer(const MetricsServer&) = delete;
    MetricsServer& operator=(const MetricsServer&) = delete;

    // Stops listening and drops open connections; idempotent.
    void close();
    std::uint16_t port() const;
    std::size_t open_connections() const { return conns_.size(); }
    std::uint64_t requests() const { return requests_; }

    struct Conn;   // one client (public for metrics_server.cpp only)

private:
    MetricsServer(uv_loop_t* loop, Render render, io::Log log, MetricsServerOptions options);
    void accepted(std::unique_ptr<io::TcpStream> stream);
    void retire(Conn* c);
    void respond(Conn& c, int status, std::string_view content_type, std::string body, bool head_only,
                 std::string_view extra_fields = {});
    void handle(Conn& c);
    friend struct Conn;

    uv_loop_t* loop_;
    Render render_;
    io::Log log_;
    MetricsServerOptions options_;
    std::unique_ptr<io::Listener> listener_;
    std::list<std::unique_ptr<Conn>> conns_;
    std::list<std::unique_ptr<Conn>> retired_;
    io::Timer reaper_;
    std::uint64_t requests_ = 0;
};

}  // namespace asmtpd::smtp
