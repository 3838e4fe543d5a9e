// server.hpp - listeners, the session table, global and per-IP limits, signals.
//
// Rules: sessions are owned here and destroyed only from the reaper timer, never inside one of
// their own callbacks. SIGHUP swaps the Runtime for new sessions only; a configuration that
// does not load is logged and the old one kept. SIGTERM closes the listeners, lets sessions run
// on for timeouts.shutdown seconds, then sends 421 to the rest and lets the loop end.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include <uv.h>

#include "core/io/cpu_thread.hpp"
#include "core/io/listener.hpp"
#include "core/io/log.hpp"
#include "core/io/signals.hpp"
#include "core/io/timer.hpp"
#include "core/smtp/runtime.hpp"
#include "core/smtp/session.hpp"
#include "core/smtp/connection_table.hpp"
#include "core/smtp/control_server.hpp"
#include "core/smtp/metrics.hpp"
#include "core/smtp/metrics_server.hpp"
#include "core/smtp/session_ids.hpp"

namespace asmtpd::smtp {

class Server final : public SessionOwner {
public:
    // listen_fds: one bound, listening socket per entry of settings.listen, in order
    // (ListenSockets::take); the Server owns them from here on.
    Server(uv_loop_t* loop, io::Logger& logger, std::string config_dir, std::shared_ptr<const Runtime> runtime,
           std::span<const hooks::CatalogEntry> catalog, std::vector<int> listen_fds, unsigned worker = 0);
    ~Server() override;

    // Watches every listening socket and installs the signal handlers; false with a reason on failure.
    bool start(std::string& error);
    void reload();
    void stop();
    // This process talks to the service manager (systemd): the single-worker daemon does, the
    // workers of a supervisor do not (io::service; the supervisor notifies for them).
    void notify_service(bool on) { notify_service_ = on; }
    // The instance's shared connection counts (made before the workers fork); without one the
    // server makes its own, which is right for a single worker.
    void share_connections(std::shared_ptr<ConnectionTable> table) { connections_ = std::move(table); }
    std::string service_status() const;   // the STATUS= line: "accepting mail (N plugins)"
    // This worker counts into `registry` (asmtpd.yaml metrics:); call before start().
    void count_into(std::shared_ptr<MetricsRegistry> registry);
    // This process also serves GET /metrics on the bound socket fd (workers: 1); before start().
    void serve_metrics(int fd) { metrics_fd_ = fd; }
    // This process also answers the control socket on the bound fd (workers: 1; needs
    // count_into); before start(). server_control.cpp.
    void serve_control(int fd) { control_fd_ = fd; }

    void session_finished(Session& s) override;
    io::ChildRunner& children() override { return children_; }
    io::Resolver& resolver() override { return *resolver_; }
    io::StateStore& state_store() override { return *state_; }
    io::CpuThread& cpu_thread() override { return cpu_; }
    bool auth_failed(const std::string& ip) override;
    io::FreeSpaceMonitor* free_space() override { return &free_space_; }
    bool peer_changed(Session& s, const std::string& old_ip) override;
    WorkerMetrics* metrics() override { return metrics_.get(); }
    std::size_t session_count() const { return sessions_.size(); }

private:
    void on_connection(std::unique_ptr<io::TcpStream> stream, const ListenSpec& spec);
    void maybe_exit();
    // false: the configuration did not load (why: the errors, one a line); the old one runs on.
    bool reload_runtime(std::string* why = nullptr);
    void control(proto::ControlVerb verb, ControlServer::Answer answer);   // server_control.cpp
    void close_resolver();   // logs the DNS counters, ends questions still out
    void close_state();      // logs the state store's counters, closes its connection
    void publish_metrics();  // the resolver's and the child runner's counts into the registry
    void metrics_tick();     // publish_metrics, then again in a second

    uv_loop_t* loop_;
    io::Logger& logger_;
    io::Log log_;
    std::string config_dir_;
    std::shared_ptr<const Runtime> runtime_;
    std::span<const hooks::CatalogEntry> catalog_;

    std::vector<int> listen_fds_;              // not yet adopted by a Listener (closed by the destructor)
    std::vector<std::unique_ptr<io::Listener>> listeners_;
    std::unordered_map<std::uint64_t, std::unique_ptr<Session>> sessions_;
    std::vector<std::unique_ptr<Session>> retired_;
    // Open connections of the whole instance (every worker), for the connection limits.
    std::shared_ptr<ConnectionTable> connections_;
    unsigned worker_ = 0;
    // Failed AUTH times per client IP within the last minute (P7: AUTH attempts are limited).
    std::unordered_map<std::string, std::vector<std::uint64_t>> auth_failures_;
    SessionIds session_ids_;
    bool stopping_ = false;
    bool notify_service_ = false;

    io::ChildRunner children_;
    std::string resolver_error_;               // before resolver_: its constructor writes it
    std::unique_ptr<io::Resolver> resolver_;   // null when start() failed on it, and once stopped
    std::unique_ptr<io::StateStore> state_;    // asmtpd.yaml state:, opened on first use; null once stopped
    io::FreeSpaceMonitor free_space_;
    io::CpuThread cpu_;
    io::Timer reaper_;
    io::Timer shutdown_timer_;
    io::SignalWatcher sigterm_, sigint_, sighup_;
    std::shared_ptr<MetricsRegistry> metrics_registry_;
    std::unique_ptr<WorkerMetrics> metrics_;
    int metrics_fd_ = -1;
    std::unique_ptr<MetricsServer> metrics_server_;
    int control_fd_ = -1;
    std::unique_ptr<ControlServer> control_server_;
    std::uint64_t generation_ = 1;           // 1 + successful reloads
    io::Timer metrics_timer_;                // publish_metrics every second (unref'd)
};

}  // namespace asmtpd::smtp
