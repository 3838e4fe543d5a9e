// child_process_impl.hpp - the private state behind ChildRunner and ChildHandle, shared by
// child_process.cpp (spawn, timers, completion, cancel, teardown) and child_pipes.cpp (stdin
// streaming, output capture, stderr lines). Nothing outside core/io/child_*.cpp includes it.
//
// Ownership: a State is shared by the runner (queue or slot list), the ChildHandle, pending
// callbacks, and itself (`keep`) while libuv owns any of its handles; the last one frees it.
// Every libuv handle lives inside the State (or one of its ChildPipes) and is freed with it,
// which is why `keep` holds the State until the last close callback.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include <uv.h>

#include "core/io/child_process.hpp"
#include "core/io/signals.hpp"

namespace asmtpd::io {

enum class PipeKind { Stdin, Input, Stdout, Stderr, Output };

inline bool is_input(PipeKind k) { return k == PipeKind::Stdin || k == PipeKind::Input; }

struct ChildPipe;

struct ChildHandle::State : std::enable_shared_from_this<ChildHandle::State> {
    enum class Phase { Queued, Running, Done };   // Done: result delivered, dropped or cancelled
    enum class TimerRole { None, Timeout, Kill, Grace, Deliver };

    std::weak_ptr<ChildRunner::Impl> runner;
    uv_loop_t* loop = nullptr;
    ChildSpec spec;
    ChildRunner::Done done;
    ChildResult result;
    Phase phase = Phase::Queued;
    bool in_slot = false;        // counted in the runner's running() until the pid is reaped
    bool exited = false;         // reaped (by the runner's SIGCHLD scan or our teardown waitpid)
    uv_timer_t timer{};
    bool timer_open = false;
    TimerRole role = TimerRole::None;
    std::vector<std::unique_ptr<ChildPipe>> pipes;
    std::uint64_t spool_off = 0;
    std::string err_line;        // stderr bytes since the last newline
    bool err_line_cut = false;   // the current stderr line hit the limit; drop until newline
    int open_handles = 0;
    std::shared_ptr<State> keep;   // self, while libuv owns one of our handles

    void add_handle() {
        if (open_handles++ == 0) keep = shared_from_this();
    }
    static void handle_closed(State* s) {
        if (--s->open_handles == 0) {
            auto last = std::move(s->keep);   // may free *s when this block ends
        }
    }

    void init_timer();
    void arm(TimerRole r, std::uint64_t ms);
    void on_timer();
    void close_timer();
    void close_pipe(ChildPipe& p);
    void close_pipes();
    int spawn();
    void start_io();
    void feed(ChildPipe& p);
    void write(ChildPipe& p, const char* data, std::size_t n, std::string owned);
    void input_settled(ChildPipe& p, bool ok);
    void on_output(ChildPipe& p, const char* data, std::size_t n);
    void output_ended(ChildPipe& p);
    void stderr_bytes(const char* data, std::size_t n);
    void emit_stderr_line();
    void kill_group(int sig);
    void on_exit(std::int64_t status, int term_signal);
    bool settled() const;
    void maybe_complete();
    void complete();
    void deliver_unspawned();
    void release_slot();
    void cancel();
    void abandon();
};

struct ChildPipe {
    ChildHandle::State* owner = nullptr;
    uv_pipe_t handle{};
    PipeKind kind = PipeKind::Stdout;
    int child_fd = -1;
    std::size_t index = 0;   // into spec.input_fds / spec.output_fds
    bool closing = false;
    bool settled = false;    // output: EOF (or given up); input: written in full or failed
    bool data_sent = false;  // stdin: stdin_data handed to a write already
};

struct ChildRunner::Impl {
    uv_loop_t* loop;
    std::size_t max_running;
    std::size_t running = 0;
    std::size_t peak = 0;
    std::uint64_t started = 0;   // slots taken: children spawned (or whose spawn failed)
    bool initialised = false;
    std::deque<std::shared_ptr<ChildHandle::State>> queue;
    std::vector<std::shared_ptr<ChildHandle::State>> slots;   // spawned, pid not yet reaped
    // SIGCHLD, then waitpid(pid, WNOHANG) for each pid in `slots`: never waitpid(-1), which
    // would steal the children of other parts of the process. Referenced only while a child
    // runs, as libuv's process handle was.
    std::unique_ptr<SignalWatcher> sigchld;

    Impl(uv_loop_t* l, std::size_t max) : loop(l), max_running(std::max<std::size_t>(max, 1)) {}

    void reap();
    void update_ref() {
        if (sigchld) sigchld->keep_loop_alive(!slots.empty());
    }

    // Starts queued requests while slots are free (spawn failures are delivered later).
    void pump();
    void take_slot(const std::shared_ptr<ChildHandle::State>& s) {
        s->phase = ChildHandle::State::Phase::Running;
        s->in_slot = true;
        slots.push_back(s);
        peak = std::max(peak, ++running);
        ++started;
        update_ref();
    }
    // Drops s from the slot list; the caller keeps its own reference alive meanwhile.
    void release(ChildHandle::State* s) {
        auto it = std::find_if(slots.begin(), slots.end(), [s](const auto& p) { return p.get() == s; });
        if (it == slots.end()) return;
        slots.erase(it);
        --running;
        update_ref();
    }
    void unqueue(ChildHandle::State* s) {
        auto it = std::find_if(queue.begin(), queue.end(), [s](const auto& p) { return p.get() == s; });
        if (it != queue.end()) queue.erase(it);
    }
};

}  // namespace asmtpd::io
