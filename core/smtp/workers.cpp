// workers.cpp - the pre-fork supervisor; see workers.hpp. Blocking waits are fine here: the
// parent serves no client.
#include "core/smtp/workers.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <thread>
#include <string>
#include <vector>

#include "core/io/service_notify.hpp"

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
    pid_t pid = fork();
    if (pid == 0) {
        // The worker installs its own handlers on its loop; start from the defaults.
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        std::fflush(nullptr);
        _exit(worker(index, reloaded));
    }
    return pid;
}

}  // namespace

int run_workers(unsigned count, const std::function<int(unsigned, bool)>& worker,
                const std::function<void()>& release_on_stop, const std::function<void(unsigned)>& worker_gone) {
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
            std::perror("asmtpd: fork");
            g_stop = 1;
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
            for (auto& w : workers)
                if (w.pid > 0) kill(w.pid, SIGHUP);
            io::service::ready(ready_status);
        }
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
            w.pid = 0;
            if (worker_gone) worker_gone(i);
            const bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
            if (g_stop) {
                if (!clean) rc = 1;
                continue;
            }
            auto lived = std::chrono::steady_clock::now() - w.started;
            if (lived < std::chrono::seconds(1)) {
                std::fprintf(stderr, "asmtpd: worker %u failed at start-up; stopping\n", i);
                rc = 1;
                g_stop = 1;
                continue;
            }
            std::fprintf(stderr, "asmtpd: worker %u exited unexpectedly (status %d); restarting\n", i, status);
            std::this_thread::sleep_for(std::chrono::seconds(1));
            w.pid = spawn(i, reloaded, worker);
            w.started = std::chrono::steady_clock::now();
            any = true;
        }
        if (!any) break;
        // Sleep until a signal or the next poll; SIGCHLD interrupts the sleep too.
        usleep(100000);
    }
    return rc;
}

}  // namespace asmtpd::smtp
