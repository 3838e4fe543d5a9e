// control_supervisor.hpp - what the control socket does in the supervisor of `workers: N`:
// status from run_workers' SupervisorState and the metrics registry, reload and drain through
// the same path as SIGHUP and SIGTERM (request_reload / request_stop), plugins from the
// registry.
//
// Reload: the workers each load the configuration (Server::reload); the supervisor only tells
// them. So a reload is a round: when run_workers forwards a SIGHUP (whoever sent it) it calls
// reload_forwarded(), which notes every running worker's reload counts; the round ends when
// each of those workers has counted one more reload, ok or failed (a worker that exits in
// between is left out: its replacement loads the configuration as it is now), or after
// kReloadDeadlineMs. A round where every worker loaded raises the generation; otherwise the
// answer carries the first failed worker's errors (asmtpd.yaml:LINE: ...) and the running
// configuration stays. Answers wait on the supervisor loop, never block it.
#pragma once

#include <cstdint>
#include <list>
#include <memory>
#include <vector>

#include <uv.h>

#include "core/io/log.hpp"
#include "core/io/timer.hpp"
#include "core/smtp/control_server.hpp"
#include "core/smtp/metrics.hpp"
#include "core/smtp/workers.hpp"

namespace asmtpd::smtp {

class SupervisorControl {
public:
    static constexpr std::uint64_t kReloadDeadlineMs = 60000;

    SupervisorControl(uv_loop_t* loop, std::shared_ptr<MetricsRegistry> registry, const SupervisorState& state,
                      io::Log log);
    // ControlServer's handler.
    void handle(proto::ControlVerb verb, ControlServer::Answer answer);
    // run_workers is about to send the workers SIGHUP (from its reload_log callback).
    void reload_forwarded();
    std::uint64_t generation() const { return generation_; }

private:
    struct Round {
        std::vector<pid_t> pids;                 // the workers told, by index (0: none)
        std::vector<std::uint64_t> ok, failed;   // their counts before
        std::uint64_t started = 0;               // uv_now
        std::vector<ControlServer::Answer> waiting;
    };
    void poll();
    void finish(Round& r, bool timed_out);

    uv_loop_t* loop_;
    std::shared_ptr<MetricsRegistry> registry_;
    const SupervisorState& state_;
    io::Log log_;
    std::uint64_t generation_ = 1;
    std::vector<ControlServer::Answer> asked_;   // reloads requested, not forwarded yet
    std::list<Round> rounds_;
    io::Timer timer_;
};

}  // namespace asmtpd::smtp
