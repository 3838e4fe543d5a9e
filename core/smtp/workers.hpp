// workers.hpp - `workers: N` in asmtpd.yaml: N processes, one libuv loop each, sharing every
// listening port through SO_REUSEPORT so the kernel spreads connections between them.
//
// The parent only supervises: it runs no loop and accepts nothing; it keeps the listening
// sockets (bound before the privilege drop, core/smtp/listen_sockets.hpp) for a restarted worker. It forwards SIGHUP and
// SIGTERM/SIGINT to the workers, restarts a worker that dies unexpectedly (with a one-second
// pause), and exits when all workers have exited after a stop. A worker that fails during its
// first second (say, the port is taken) stops the whole daemon instead of restarting forever.
// A worker restarted after the parent forwarded a SIGHUP is told so: it loads the configuration
// as it is now, as its siblings did on the SIGHUP, not the one inherited from start-up.
#pragma once

#include <sys/types.h>

#include <functional>
#include <vector>

#include "core/io/log.hpp"

namespace asmtpd::smtp {

// Runs `worker(index, reloaded)` in `count` child processes and supervises them; returns the
// exit code for the parent. `worker` returns the child's exit code; `reloaded` is true for a
// worker restarted after at least one SIGHUP. `release_on_stop` runs in the parent once, when it
// forwards SIGTERM/SIGINT (it closes the parent's copies of the listening sockets).
// `worker_gone(index)` runs in the parent after a worker exited, before any replacement starts
// (it forgets the dead worker's connections in the shared ConnectionTable). `log` is the
// supervisor's own logger (same target and format as the workers'; worker -1); `reload_log` runs
// in the parent on SIGHUP before the workers are told (it re-reads the log: section).
// A worker's end is logged in words: "worker 2 (pid 4242) killed by signal 9 (SIGKILL)".
// `wait(ms)`, when given, is how the parent spends up to ms between its polls (the metrics
// endpoint runs its loop there); without it the parent sleeps. It may return early.
// `state`, when given, is kept up to date for the control socket (control_supervisor.hpp).
struct SupervisorState {
    std::vector<pid_t> pids;   // per worker; 0 while it is not running
    bool draining = false;     // SIGTERM/SIGINT or a drain request: the workers were told to stop
};
int run_workers(unsigned count, io::Logger& log, const std::function<int(unsigned index, bool reloaded)>& worker,
                const std::function<void()>& release_on_stop = {},
                const std::function<void(unsigned index)>& worker_gone = {},
                const std::function<void()>& reload_log = {},
                const std::function<void(unsigned ms)>& wait = {},
                SupervisorState* state = nullptr);

// What SIGHUP and SIGTERM do to run_workers, asked from its own process (the control socket,
// inside `wait`): the next poll reloads the workers, or drains them.
void request_reload();
void request_stop();

}  // namespace asmtpd::smtp
