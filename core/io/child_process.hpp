// child_process.hpp - running external programs from the loop: spp plugins, qmail-queue,
// checkpassword. Nothing here blocks and nothing here knows SMTP.
//
// Rules:
// - Children are started with spawn_program (posix_spawn, no fork of the server; the asmtpd-exec
//   helper for another uid/gid or rlimits) in a new process group (setsid), with an explicit
//   environment (never the server's environ), stdin from /dev/null unless input is given, stdout
//   and stderr on pipes, every other fd closed except the extra pipes asked for.
// - Every child is reaped by pid on SIGCHLD (never waitpid(-1)); every path (normal end, timeout,
//   cancel, output cap, loop shutdown) kills the group first if it still runs.
// - A run is complete when the child has exited AND stdout reached EOF; if the exit came first
//   and EOF does not follow within `eof_grace_ms` (a grandchild holds the pipe), the pipes are
//   closed and the group is killed. The completion callback runs exactly once, on the loop, and
//   never from inside spawn() or cancel() (always from a later callback), unless the run was
//   cancelled: then it never runs.
// - ChildRunner caps how many children run at once; further requests wait in FIFO order and
//   their queueing time counts against their own timeout.
// Details (owner: core/io, child processes):
// - Timeout: SIGTERM to the group, SIGKILL 2 s later (timed_out=true). A request still queued
//   when its timeout expires completes with spawned=false, timed_out=true. stdout past
//   stdout_limit: the group gets SIGKILL, truncated=true. output_fds share stdout_limit but
//   are only capped (the excess is read and dropped), never killed for it.
// - stdin from a Spool is streamed 64 KiB at a time (the next chunk is read once the previous
//   write completed). If the child stops reading (EPIPE) input_failed=true; if the spool
//   cannot be read the group is killed before stdin is closed, so a child never sees a clean
//   EOF after truncated input.
// - Spawn failures (ENOENT, EACCES, EAGAIN, or EINVAL for a spec that uses one fd twice) give
//   ChildResult{spawned=false, error}, delivered from a later loop callback.
// - run() ignores SIGPIPE process-wide (first call); the child closes every fd above the ones
//   it was given (close_range), so no fd of the server leaks into it.
// - Destroying the runner SIGKILLs every group, reaps each pid with waitpid(pid) (bounded),
//   closes every handle (freed in close callbacks: run the loop afterwards) and drops every
//   Done callback unrun. The constructor calls no uv_* function (it may precede uv_loop_init).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <uv.h>

#include "core/io/spawn.hpp"
#include "core/io/spool.hpp"

namespace asmtpd::io {

struct ChildSpec {
    std::string program;                 // path to execute (no PATH search unless it has no '/')
    std::vector<std::string> args;       // argv[1..]; argv[0] is program
    std::vector<std::string> env;        // "NAME=value", exactly what the child sees
    std::string cwd;                     // empty: inherit
    std::optional<SpawnCredentials> run_as;   // set: setgroups/setgid/setuid before execve (needs root)
    SpawnLimits limits;                  // RLIMIT_CPU / RLIMIT_AS for the child, 0 = inherited
    // Bytes written to the child's stdin, then closed (empty + no stdin_spool: /dev/null).
    std::string stdin_data;
    // When set, stdin_data is written first, then the spool's content from stdin_spool_offset
    // on is streamed after it (a message whose header block was edited skips the original).
    std::shared_ptr<Spool> stdin_spool;
    std::uint64_t stdin_spool_offset = 0;
    // Extra pipes: fd number in the child -> bytes the parent writes then closes (qmail-queue's
    // envelope on fd 1 means stdout is NOT captured: set capture_stdout = false then).
    struct InputFd { int child_fd; std::string data; };
    std::vector<InputFd> input_fds;
    // Extra output pipes to capture, by child fd number (qmail-queue's fd 6 error text).
    std::vector<int> output_fds;
    bool capture_stdout = true;
    std::size_t stdout_limit = 65536;    // bytes; past it the child is killed (truncated=true)
    std::size_t stderr_line_limit = 1024;
    std::uint64_t timeout_ms = 30000;    // from the request (includes time queued); 0 = none
    std::uint64_t eof_grace_ms = 1000;
    // Called for every complete stderr line (already stripped of CR/LF; control bytes kept).
    std::function<void(std::string_view line)> on_stderr;
};

struct ChildResult {
    bool spawned = false;                // false: spawn failed (error says why)
    std::string error;                   // spawn error text (e.g. "ENOENT: no such file")
    std::int64_t exit_status = -1;       // valid when term_signal == 0 and spawned
    int term_signal = 0;                 // signal that ended the child, 0 if it exited
    bool timed_out = false;
    bool truncated = false;              // stdout exceeded stdout_limit (child was killed)
    bool input_failed = false;           // stdin or an input fd could not be written in full
    int pid = 0;
    std::string out;                     // captured stdout (up to the limit)
    std::vector<std::string> extra_out;  // captured output_fds, same order as spec.output_fds
};

class ChildRunner;

// One pending or running child. Destroying or cancel()ing it kills the group; the completion
// callback then never runs.
class ChildHandle {
public:
    ChildHandle() = default;
    ~ChildHandle();
    ChildHandle(ChildHandle&&) noexcept;
    ChildHandle& operator=(ChildHandle&&) noexcept;
    ChildHandle(const ChildHandle&) = delete;
    ChildHandle& operator=(const ChildHandle&) = delete;
    void cancel();
    bool active() const;   // queued or running, and its Done callback has not run yet
    int pid() const;       // the child's pid once spawned (0 while queued or after a failed spawn)

    struct State;   // shared with the runner (public only for the implementation)
    explicit ChildHandle(std::shared_ptr<State> s) : state_(std::move(s)) {}

private:
    std::shared_ptr<State> state_;
};

class ChildRunner {
public:
    ChildRunner(uv_loop_t* loop, std::size_t max_running);
    ~ChildRunner();   // kills and reaps everything still running
    ChildRunner(const ChildRunner&) = delete;
    ChildRunner& operator=(const ChildRunner&) = delete;

    using Done = std::function<void(ChildResult)>;
    // Keep the handle until Done runs: dropping it cancels the child.
    [[nodiscard]] ChildHandle run(ChildSpec spec, Done done);

    std::size_t running() const;
    std::size_t queued() const;
    std::size_t peak_running() const;    // highest running() seen (for tests and metrics)
    std::uint64_t started() const;       // children started so far (a failed spawn counts too)
    void set_max_running(std::size_t n);

    struct Impl;
private:
    std::shared_ptr<Impl> impl_;
};

}  // namespace asmtpd::io
