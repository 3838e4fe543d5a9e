// smtp_pool.hpp - the connections of one worker loop to one next hop: at most max_connections,
// idle ones reused (RSET between messages) until idle_timeout, deliveries beyond the cap
// waiting in FIFO order. At Postfix's may level (ClientSecurity::plaintext_fallback) a
// connection whose TLS handshake failed is followed by one new connection without STARTTLS for
// the oldest waiter, closed after that delivery (the next one tries TLS again).
//
// Rules: deliver() answers exactly once through job->done, never synchronously from inside
// deliver(); every job has a total deadline (waiting for a connection included). A connection
// that failed in any way is dropped, never reused. One pool serves one loop and is used only
// on that loop's thread. Shutdown: idle connections keep the loop alive, so while the pool
// has connections it also watches SIGTERM and SIGINT (the daemon's stop signals, next to the
// server's own watchers) and then closes its idle connections and stops reusing busy ones;
// with no connection left it holds no libuv handle at all, so a loop can end and close
// cleanly; shutdown() and the destructor use no logger either (main.cpp may destroy the
// plugins after the loop and its logger are gone). Ownership: the plugin holds the pool by shared_ptr, and so does every job in
// flight, so a pool outlives a plugin destroyed by a reload until its last delivery is done.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "core/io/reactor.hpp"
#include "core/io/log.hpp"
#include "core/io/signals.hpp"
#include "core/io/timer.hpp"
#include "core/client/next_hop.hpp"
#include "core/client/smtp_client.hpp"

namespace asmtpd::client {

class SmtpPool final : public ConnectionOwner, public std::enable_shared_from_this<SmtpPool> {
public:
    static std::shared_ptr<SmtpPool> create(uv_loop_t* loop, ClientConfig config, std::string helo_name);
    static std::shared_ptr<SmtpPool> create(const io::Reactor& reactor, ClientConfig config, std::string helo_name) {
        return create(reactor.native(), std::move(config), std::move(helo_name));
    }
    ~SmtpPool() override;
    SmtpPool(const SmtpPool&) = delete;
    SmtpPool& operator=(const SmtpPool&) = delete;

    // total_ms: this job's deadline (0: the configured total_timeout), for a caller that
    // spends one budget over several next hops.
    void deliver(Envelope envelope, io::Log log, std::function<bool()> wanted, std::function<void(DeliveryReport)> done,
                 std::uint64_t total_ms = 0);
    // Nothing open, waiting or running: dropping the pool loses nothing.
    bool unused() const { return conns_.empty() && queue_.empty() && running_.empty(); }
    // Closes idle connections and stops reusing the others (reload, stop). Deliveries go on.
    void shutdown();

    const ClientConfig& config() const { return config_; }
    std::size_t open_connections() const { return conns_.size(); }
    std::size_t idle_connections() const;
    std::size_t waiting() const { return queue_.size(); }
    std::uint64_t connections_made() const { return next_id_; }
    bool draining() const { return draining_; }

    // ConnectionOwner
    void connection_ready(ClientConnection& c) override;
    void connection_failed(ClientConnection& c, DeliveryReport why) override;
    void connection_lost(ClientConnection& c) override;
    void job_finished(ClientConnection& c, DeliveryReport report, After after) override;

    struct Pending;   // a job with its deadline and where it runs (public for smtp_pool.cpp)

private:
    SmtpPool(uv_loop_t* loop, ClientConfig config, std::string helo_name);
    void dispatch();
    void finish(const std::shared_ptr<Pending>& p, DeliveryReport report);
    void expire(const std::shared_ptr<Pending>& p);
    std::shared_ptr<ClientConnection> take(ClientConnection& c);   // removes c from conns_
    void to_back(ClientConnection& c);                             // marks c most recently used
    void watch_signals();

    uv_loop_t* loop_;
    ClientConfig config_;
    std::string helo_name_;
    std::vector<std::shared_ptr<ClientConnection>> conns_;   // connecting, idle and busy
    std::deque<std::shared_ptr<Pending>> queue_;             // waiting for a connection, FIFO
    std::vector<std::shared_ptr<Pending>> running_;
    std::size_t opening_ = 0;                                // conns_ still in set-up
    std::uint64_t next_id_ = 0;
    bool draining_ = false;
    bool dispatching_ = false, dispatch_again_ = false;
    std::unique_ptr<io::StopSignals> stop_signals_;   // only while conns_ is not empty
};

}  // namespace asmtpd::client
