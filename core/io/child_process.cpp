// child_process.cpp - ChildRunner: spawning (spawn_program, new process group, explicit env, fd
// layout), timeouts and kill escalation, the completion rule, cancel, the FIFO concurrency cap,
// and teardown. The byte side (stdin streaming, capture, stderr lines) is child_pipes.cpp.
//
// Must never: run a Done callback twice, after cancel(), after the runner is gone, or from
// inside run()/cancel(); leave a zombie (every pid is reaped on SIGCHLD, or by waitpid(pid) when
// the runner is torn down; never waitpid(-1)); free a libuv handle before its close callback.
// Ownership: see child_process_impl.hpp.
#include "core/io/child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <utility>

#include "core/io/child_process_impl.hpp"
#include "core/io/signals.hpp"
#include "core/io/spawn.hpp"

namespace asmtpd::io {

namespace {

constexpr std::uint64_t kKillAfterTermMs = 2000;   // SIGTERM, then SIGKILL this much later
constexpr int kReapPolls = 2000;                    // x 1 ms: teardown wait for a SIGKILLed pid

std::string uv_error_text(int err) { return std::string(uv_err_name(err)) + ": " + uv_strerror(err); }

}  // namespace

void ChildRunner::Impl::pump() {
    while (running < max_running && !queue.empty()) {
        auto s = std::move(queue.front());
        queue.pop_front();
        take_slot(s);
        int err = s->spawn();
        if (err != 0) {
            s->result.spawned = false;
            if (s->result.error.empty()) s->result.error = uv_error_text(err);
            s->release_slot();
            s->arm(ChildHandle::State::TimerRole::Deliver, 0);   // never from inside run()
        } else {
            s->start_io();
        }
    }
}

// ------------------------------------------------------------------------------ handles

void ChildHandle::State::init_timer() {
    uv_timer_init(loop, &timer);
    timer.data = this;
    timer_open = true;
    add_handle();
}

void ChildHandle::State::arm(TimerRole r, std::uint64_t ms) {
    if (!timer_open) return;
    role = r;
    uv_timer_start(&timer, [](uv_timer_t* t) { static_cast<State*>(t->data)->on_timer(); }, ms, 0);
}

void ChildHandle::State::close_timer() {
    if (!timer_open) return;
    timer_open = false;
    role = TimerRole::None;
    uv_timer_stop(&timer);
    uv_close(reinterpret_cast<uv_handle_t*>(&timer),
             [](uv_handle_t* h) { handle_closed(static_cast<State*>(h->data)); });
}

void ChildHandle::State::close_pipe(ChildPipe& p) {
    if (p.closing) return;
    p.closing = true;
    uv_close(reinterpret_cast<uv_handle_t*>(&p.handle),
             [](uv_handle_t* h) { handle_closed(static_cast<ChildPipe*>(h->data)->owner); });
}

void ChildHandle::State::close_pipes() {
    for (auto& p : pipes) close_pipe(*p);
}

void ChildHandle::State::kill_group(int sig) {
    if (result.pid <= 0) return;
    // The group outlives its leader while a grandchild holds it, so -pid stays valid (and is
    // never reused for another group) until the last member is gone.
    if (uv_kill(-result.pid, sig) != 0 && !exited) uv_kill(result.pid, sig);
}

void ChildHandle::State::release_slot() {
    if (!in_slot) return;
    in_slot = false;
    if (auto impl = runner.lock()) impl->release(this);
}

// ------------------------------------------------------------------------------ spawn

namespace {

std::string path_of(const std::vector<std::string>& env) {
    for (const auto& e : env)
        if (e.rfind("PATH=", 0) == 0) return e.substr(5);
    return "";
}

}  // namespace

int ChildHandle::State::spawn() {
    // Which fd gets what; a spec that asks for one fd twice is refused rather than guessed at.
    if (spec.program.empty()) return UV_EINVAL;
    const bool want_stdin = !spec.stdin_data.empty() || spec.stdin_spool != nullptr;
    int max_fd = 2;
    std::vector<int> used;
    if (want_stdin) used.push_back(0);
    if (spec.capture_stdout) used.push_back(1);
    used.push_back(2);
    for (const auto& in : spec.input_fds) {
        if (in.child_fd < 0 || in.child_fd == 2 || in.child_fd > 1024) return UV_EINVAL;
        used.push_back(in.child_fd);
        max_fd = std::max(max_fd, in.child_fd);
    }
    for (int fd : spec.output_fds) {
        if (fd < 3 || fd > 1024) return UV_EINVAL;
        used.push_back(fd);
        max_fd = std::max(max_fd, fd);
    }
    std::sort(used.begin(), used.end());
    if (std::adjacent_find(used.begin(), used.end()) != used.end()) return UV_EINVAL;
    const std::string path = resolve_program(spec.program, path_of(spec.env));
    if (path.empty()) return UV_ENOENT;

    SpawnPlan plan;
    plan.fds.assign(static_cast<std::size_t>(max_fd) + 1, -1);   // 0-2: /dev/null; above: closed
    std::vector<int> child_ends;   // closed here once the child has its copies
    auto drop_child_ends = [&] {
        for (int fd : child_ends) ::close(fd);
        child_ends.clear();
    };
    auto add_pipe = [&](PipeKind kind, int fd, std::size_t index) -> int {
        int ends[2];
        if (::pipe2(ends, O_CLOEXEC) != 0) return -errno;
        const int parent_end = is_input(kind) ? ends[1] : ends[0];
        const int child_end = is_input(kind) ? ends[0] : ends[1];
        child_ends.push_back(child_end);
        plan.fds[static_cast<std::size_t>(fd)] = child_end;
        auto p = std::make_unique<ChildPipe>();
        p->owner = this;
        p->kind = kind;
        p->child_fd = fd;
        p->index = index;
        uv_pipe_init(loop, &p->handle, 0);
        p->handle.data = p.get();
        add_handle();
        int rc = uv_pipe_open(&p->handle, parent_end);   // also makes it non-blocking
        pipes.push_back(std::move(p));
        if (rc != 0) ::close(parent_end);
        return rc;
    };
    int err = 0;
    if (!err && want_stdin) err = add_pipe(PipeKind::Stdin, 0, 0);
    if (!err && spec.capture_stdout) err = add_pipe(PipeKind::Stdout, 1, 0);
    if (!err) err = add_pipe(PipeKind::Stderr, 2, 0);
    for (std::size_t i = 0; !err && i < spec.input_fds.size(); ++i)
        err = add_pipe(PipeKind::Input, spec.input_fds[i].child_fd, i);
    for (std::size_t i = 0; !err && i < spec.output_fds.size(); ++i)
        err = add_pipe(PipeKind::Output, spec.output_fds[i], i);

    std::vector<char*> argv;
    argv.push_back(spec.program.data());
    for (auto& a : spec.args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<char*> envp;   // never null: the child gets exactly this environment
    for (auto& e : spec.env) envp.push_back(e.data());
    envp.push_back(nullptr);

    SpawnResult started;
    if (!err) {
        plan.path = path.c_str();
        plan.argv = argv.data();
        plan.envp = envp.data();
        plan.cwd = spec.cwd.empty() ? nullptr : spec.cwd.c_str();
        plan.new_session = true;   // the child leads a new process group: we kill -pid
        plan.credentials = spec.run_as ? &*spec.run_as : nullptr;
        plan.limits = spec.limits;
        started = spawn_program(plan);
        if (started.pid <= 0) err = -started.error;
    }
    drop_child_ends();
    if (err != 0) {
        close_pipes();
        exited = true;   // nothing to reap: spawn_program collected a child that failed before exec
        result.error = uv_error_text(err);
        if (started.stage && *started.stage) result.error += std::string(" (") + started.stage + ")";
        return err;
    }
    result.spawned = true;
    result.pid = started.pid;
    result.extra_out.assign(spec.output_fds.size(), std::string());
    return 0;
}

// ------------------------------------------------------------------------------ lifecycle

void ChildRunner::Impl::reap() {
    auto snapshot = slots;   // on_exit pumps the queue, which changes `slots`
    for (auto& s : snapshot) {
        if (!s->result.spawned || s->exited) continue;
        int status = 0;
        pid_t r;
        do {
            r = ::waitpid(s->result.pid, &status, WNOHANG);
        } while (r < 0 && errno == EINTR);
        if (r == s->result.pid) {
            if (WIFSIGNALED(status)) s->on_exit(0, WTERMSIG(status));
            else s->on_exit(WEXITSTATUS(status), 0);
        } else if (r < 0) {
            s->on_exit(-1, 0);   // ECHILD: not ours any more; do not wait for it forever
        }
    }
}

void ChildHandle::State::on_exit(std::int64_t status, int term_signal) {
    exited = true;
    if (term_signal != 0) result.term_signal = term_signal;
    else result.exit_status = status;
    if (phase != Phase::Running) {
        // Cancelled or abandoned: only the reaping was left to do.
        auto impl = runner.lock();
        release_slot();
        if (impl) impl->pump();
        return;
    }
    if (settled()) return complete();
    // A grandchild may hold a pipe open: give it eof_grace_ms, then cut it off.
    arm(TimerRole::Grace, spec.eof_grace_ms);
}

bool ChildHandle::State::settled() const {
    return std::all_of(pipes.begin(), pipes.end(), [](const auto& p) { return p->settled; });
}

void ChildHandle::State::maybe_complete() {
    if (phase == Phase::Running && exited && settled()) complete();
}

void ChildHandle::State::complete() {
    auto keep_alive = shared_from_this();
    phase = Phase::Done;
    close_timer();
    close_pipes();
    auto impl = runner.lock();
    release_slot();
    if (impl) impl->pump();
    auto fn = std::move(done);
    done = nullptr;
    if (fn) fn(std::move(result));
}

void ChildHandle::State::deliver_unspawned() {
    auto keep_alive = shared_from_this();
    phase = Phase::Done;
    close_timer();
    auto fn = std::move(done);
    done = nullptr;
    if (fn) fn(std::move(result));
}

void ChildHandle::State::on_timer() {
    auto keep_alive = shared_from_this();
    TimerRole r = role;
    role = TimerRole::None;
    switch (r) {
        case TimerRole::Timeout:
            result.timed_out = true;
            if (phase == Phase::Queued) {
                if (auto impl = runner.lock()) impl->unqueue(this);
                result.error = "timed out after " + std::to_string(spec.timeout_ms) + " ms waiting for a free slot";
                return deliver_unspawned();
            }
            if (phase == Phase::Running && !exited) {
                kill_group(SIGTERM);
                arm(TimerRole::Kill, kKillAfterTermMs);
            }
            break;
        case TimerRole::Kill:
            if (phase == Phase::Running && !exited) kill_group(SIGKILL);
            break;
        case TimerRole::Grace:
            if (phase != Phase::Running) break;
            // The leader is gone but a pipe is still open: kill whatever is left of the
            // group and settle every pipe as it stands.
            kill_group(SIGKILL);
            for (auto& p : pipes) {
                if (p->settled) continue;
                p->settled = true;
                if (is_input(p->kind)) result.input_failed = true;
                else if (p->kind == PipeKind::Stderr && !err_line.empty()) emit_stderr_line();
                close_pipe(*p);
            }
            if (phase == Phase::Running) complete();
            break;
        case TimerRole::Deliver:
            if (phase == Phase::Running) deliver_unspawned();
            break;
        case TimerRole::None:
            break;
    }
}

void ChildHandle::State::cancel() {
    if (phase == Phase::Done) return;
    auto keep_alive = shared_from_this();
    auto fn = std::move(done);   // destroyed last: its captures may own ChildHandles (us, too)
    done = nullptr;
    const Phase was = phase;
    phase = Phase::Done;
    auto impl = runner.lock();
    if (was == Phase::Queued) {
        if (impl) impl->unqueue(this);
        close_timer();
        return;
    }
    if (result.spawned && !exited) kill_group(SIGKILL);
    close_pipes();
    close_timer();
    if (exited || !result.spawned) {
        release_slot();
        if (impl) impl->pump();
    }
    // else: the runner's SIGCHLD scan reaps it, then on_exit frees the slot.
}

// Runner teardown: no callback runs any more; kill, close, and reap now if we can.
void ChildHandle::State::abandon() {
    auto keep_alive = shared_from_this();
    auto fn = std::move(done);
    done = nullptr;
    phase = Phase::Done;
    close_pipes();
    close_timer();
    in_slot = false;
    if (result.spawned && !exited) {
        kill_group(SIGKILL);
        for (int i = 0; i < kReapPolls; ++i) {
            int status = 0;
            pid_t r = ::waitpid(result.pid, &status, WNOHANG);
            if (r == result.pid || (r < 0 && errno == ECHILD)) {
                exited = true;
                break;
            }
            if (r < 0 && errno == EINTR) continue;
            timespec ms{0, 1000000};
            ::nanosleep(&ms, nullptr);
        }
    }
    // Unreaped (stuck in the kernel after SIGKILL): it stays a zombie until the server exits;
    // nobody else may wait for it (never waitpid(-1)).
}

// ------------------------------------------------------------------------------ ChildHandle

ChildHandle::~ChildHandle() { cancel(); }

ChildHandle::ChildHandle(ChildHandle&& o) noexcept : state_(std::move(o.state_)) {}

ChildHandle& ChildHandle::operator=(ChildHandle&& o) noexcept {
    if (this != &o) {
        cancel();
        state_ = std::move(o.state_);
    }
    return *this;
}

void ChildHandle::cancel() {
    if (auto s = std::move(state_)) s->cancel();
}

bool ChildHandle::active() const { return state_ && state_->phase != State::Phase::Done; }

int ChildHandle::pid() const { return state_ ? state_->result.pid : 0; }

// ------------------------------------------------------------------------------ ChildRunner

ChildRunner::ChildRunner(uv_loop_t* loop, std::size_t max_running)
    : impl_(std::make_shared<Impl>(loop, max_running)) {}

ChildRunner::~ChildRunner() {
    auto queued = std::move(impl_->queue);
    auto slots = std::move(impl_->slots);
    impl_->queue.clear();
    impl_->slots.clear();
    impl_->running = 0;
    for (auto& s : queued) s->abandon();
    for (auto& s : slots) s->abandon();
    impl_.reset();   // states see an expired runner from now on
}

ChildHandle ChildRunner::run(ChildSpec spec, Done done) {
    if (!impl_->initialised) {
        // Writing to a child that exited must give EPIPE, not kill the server.
        ignore_sigpipe();
        impl_->sigchld = std::make_unique<SignalWatcher>(impl_->loop);
        Impl* impl = impl_.get();   // the watcher dies with impl, and its callback with it
        impl_->sigchld->start(SIGCHLD, [impl](int) { impl->reap(); });
        impl_->update_ref();
        impl_->initialised = true;
    }
    auto s = std::make_shared<ChildHandle::State>();
    s->runner = impl_;
    s->loop = impl_->loop;
    s->spec = std::move(spec);
    s->done = std::move(done);
    s->init_timer();
    uv_update_time(impl_->loop);   // the timeout counts from now, not from the last loop turn
    if (s->spec.timeout_ms > 0) s->arm(ChildHandle::State::TimerRole::Timeout, s->spec.timeout_ms);
    impl_->queue.push_back(s);
    impl_->pump();
    return ChildHandle(std::move(s));
}

std::size_t ChildRunner::running() const { return impl_->running; }
std::size_t ChildRunner::queued() const { return impl_->queue.size(); }
std::size_t ChildRunner::peak_running() const { return impl_->peak; }
std::uint64_t ChildRunner::started() const { return impl_->started; }

void ChildRunner::set_max_running(std::size_t n) {
    impl_->max_running = std::max<std::size_t>(n, 1);
    if (impl_->initialised) impl_->pump();
}

}  // namespace asmtpd::io
