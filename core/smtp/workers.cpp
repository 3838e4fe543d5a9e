// workers.cpp - the pre-fork supervisor; see workers.hpp. Blocking waits are fine here: the
// parent serves no client.
#include "core/smtp/workers.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/io/service_notify.hpp"
#include "core/io/wait_status.hpp"

namespace asmtpd::smtp {

namespace {

volatile sig_atomic_t g_stop = 0;     // signal flags: the only state a handler may touch
volatile sig_atomic_t g_reload = 0;

void on_stop(int) { g_stop = 1; }
void on_reload(int) { g_reload = 1; }

struct Worker {
    pid_t pid = 0;
    std::chrono::steady_clock::time_point started;
};

pid_t spawn(unsigned index, bool reloaded, const std::function<int(unsigned, bool)>& worker) {
    // The worker starts with SIGHUP blocked, from the fork on, and its Server unblocks it once
    // its loop handles it: a reload sent to a worker that is still starting then waits for
    // that handler, instead of being swallowed by the supervisor's inherited one or killing
    // the worker (the default action), which in its first second would stop the whole daemon.
    sigset_t hup, before;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    sigprocmask(SIG_BLOCK, &hup, &before);
    const pid_t supervisor = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        // A supervisor that is killed outright (SIGKILL, OOM) must not leave its workers
        // serving on the shared port with nobody to restart or stop them: they drain as on
        // SIGTERM. (Set after the privilege drop, which would clear it.)
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != supervisor) _exit(1);   // it died before the line above
        // The worker installs its own handlers on its loop; start from the defaults.
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        std::fflush(nullptr);
        _exit(worker(index, reloaded));
    }
    sigprocmask(SIG_SETMASK, &before, nullptr);   // a SIGHUP meanwhile is delivered here, now
    return pid;
}

}  // namespace

void request_reload() { g_reload = 1; }
void request_stop() { g_stop = 1; }

int run_workers(unsigned count, io::Logger& log, const std::function<int(unsigned, bool)>& worker,
                const std::function<void()>& release_on_stop, const std::function<void(unsigned)>& worker_gone,
                const std::function<void()>& reload_log, const std::function<void(unsigned)>& wait,
                SupervisorState* state) {
    // Spends ms (a signal may cut a plain sleep short; the next poll sees it).
    auto pause = [&wait](unsigned ms) {
        if (!wait) {
            usleep(ms * 1000);
            return;
        }
        const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
        for (auto now = std::chrono::steady_clock::now(); now < until && !g_stop; now = std::chrono::steady_clock::now())
            wait(static_cast<unsigned>(std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count()) + 1);
    };
    auto say = [&log](io::Level l, const std::string& text) {
        if (log.enabled(l)) log.write(l, 0, "supervisor", text);
    };
    struct sigaction sa {};
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, nullptr);
    sigaction(SIGINT, &sa, nullptr);
    sa.sa_handler = on_reload;
    sigaction(SIGHUP, &sa, nullptr);

    std::vector<Worker> workers(count);
    for (unsigned i = 0; i < count; ++i) {
        workers[i].pid = spawn(i, false, worker);
        workers[i].started = std::chrono::steady_clock::now();
        if (workers[i].pid < 0) {
            say(io::Level::Error, fmt::format("cannot start worker {}: fork: {}", i, std::strerror(errno)));
            g_stop = 1;
        } else {
            say(io::Level::Info, fmt::format("worker {} started (pid {})", i, static_cast<long>(workers[i].pid)));
        }
    }
    int rc = 0;
    bool forwarded_stop = false;
    bool reloaded = false;
    // The supervisor is the main pid, so it tells systemd for the workers (io::service).
    const std::string ready_status = "accepting mail (" + std::to_string(count) + " workers)";
    if (!g_stop) io::service::ready(ready_status);
    const auto watchdog_every = std::chrono::milliseconds(io::service::watchdog_interval_ms());
    auto last_watchdog = std::chrono::steady_clock::now();
    for (;;) {
        if (watchdog_every.count() > 0 && std::chrono::steady_clock::now() - last_watchdog >= watchdog_every) {
            io::service::watchdog();
            last_watchdog = std::chrono::steady_clock::now();
        }
        if (g_stop && !forwarded_stop) {
            forwarded_stop = true;
            io::service::stopping("draining the workers");
            for (auto& w : workers)
                if (w.pid > 0) kill(w.pid, SIGTERM);
            if (release_on_stop) release_on_stop();
        }
        if (g_reload) {
            g_reload = 0;
            reloaded = true;
            io::service::reloading();
            if (reload_log) reload_log();
            say(io::Level::Notice, "SIGHUP: reloading the workers");
            for (auto& w : workers)
                if (w.pid > 0) kill(w.pid, SIGHUP);
            io::service::ready(ready_status);
        }
        auto publish = [&] {
            if (!state) return;
            state->pids.resize(count);
            for (unsigned i = 0; i < count; ++i) state->pids[i] = workers[i].pid > 0 ? workers[i].pid : 0;
            state->draining = g_stop != 0;
        };
        publish();
        bool any = false;
        for (unsigned i = 0; i < count; ++i) {
            Worker& w = workers[i];
            if (w.pid <= 0) continue;
            int status = 0;
            pid_t got = waitpid(w.pid, &status, WNOHANG);
            if (got == 0 || (got < 0 && errno == EINTR)) {
                any = true;
                continue;
            }
            const std::string who = fmt::format("worker {} (pid {})", i, static_cast<long>(w.pid));
            w.pid = 0;
            if (worker_gone) worker_gone(i);
            const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            const std::string how = got < 0 ? fmt::format("lost: waitpid: {}", std::strerror(errno))
                                             : io::describe_wait_status(status);
            if (g_stop) {
                if (!clean) rc = 1;
                say(clean ? io::Level::Info : io::Level::Warn, who + " " + how);
                continue;
            }
            auto lived = std::chrono::steady_clock::now() - w.started;
            if (lived < std::chrono::seconds(1)) {
                say(io::Level::Error, who + " " + how + " during its first second; stopping");
                rc = 1;
                g_stop = 1;
                continue;
            }
            say(io::Level::Error, who + " " + how + "; restarting it");
            publish();
            pause(1000);
            w.pid = spawn(i, reloaded, worker);
            w.started = std::chrono::steady_clock::now();
            if (w.pid < 0) {
                say(io::Level::Error, fmt::format("cannot restart worker {}: fork: {}", i, std::strerror(errno)));
                w.pid = 0;
                continue;
            }
            say(io::Level::Info, fmt::format("worker {} restarted (pid {})", i, static_cast<long>(w.pid)));
            any = true;
        }
        publish();
        if (!any) break;
        // Sleep until a signal or the next poll; SIGCHLD interrupts the sleep too.
        if (wait) wait(100);
        else usleep(100000);
    }
    return rc;
}

}  // namespace asmtpd::smtp
