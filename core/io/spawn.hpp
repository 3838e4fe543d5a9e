// spawn.hpp - starting one external program without fork()ing the server.
//
// fork() copies the page tables of the whole daemon (libuv 1.44's uv_spawn does exactly that), so
// its cost grows with the server's memory and it dominated the spp path. spawn_program() uses
// glibc's posix_spawn, which runs the child on a small stack with clone(CLONE_VM | CLONE_VFORK):
// the fd table is file actions (dup2, /dev/null, closefrom), the new session POSIX_SPAWN_SETSID,
// the clean signal state SETSIGDEF + SETSIGMASK, the cwd addchdir_np. posix_spawn cannot lower
// rlimits or switch uid/gid: a plan that asks for either posix_spawns the small asmtpd-exec
// helper (tools/exec/, installed next to the daemon) instead, which applies them and execve()s
// the program; spawn_program waits until it did (core/io/exec_helper.hpp), so a program that
// cannot be run is a failed spawn either way, never an exit status to decode.
//
// Must never: leave a signal handler, the signal mask or an fd of the server to the child; return
// a pid for a program that was not exec'd; leave a child that failed before execve unreaped.
// Reaping a started child is the caller's job, by pid. The caller resolves the path (no PATH
// search here) and builds argv and envp; spawn_program blocks until the child has exec'd.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace asmtpd::io {

struct SpawnCredentials {
    uid_t uid = 0;
    gid_t gid = 0;
};

struct SpawnLimits {
    std::uint64_t cpu_seconds = 0;   // RLIMIT_CPU, 0 = leave as inherited
    std::uint64_t as_bytes = 0;      // RLIMIT_AS, 0 = leave as inherited
};

struct SpawnPlan {
    const char* path = nullptr;          // absolute or relative to cwd; already resolved (no PATH search)
    char* const* argv = nullptr;         // null-terminated
    char* const* envp = nullptr;         // null-terminated; never the server's environ
    const char* cwd = nullptr;           // null: inherit
    // fds[i] is the parent fd that becomes child fd i; -1 means closed. fds 0-2 that are -1 get
    // /dev/null instead (a program must not find its stdout closed and reuse fd 1 for a file).
    std::vector<int> fds;
    bool new_session = true;             // setsid(): the child leads its own process group
    // Either of these runs the child through asmtpd-exec (setgroups/setgid/setuid need root).
    const SpawnCredentials* credentials = nullptr;   // null: keep ours
    SpawnLimits limits;
};

struct SpawnResult {
    pid_t pid = -1;        // > 0: running (the caller reaps it)
    int error = 0;         // errno when pid <= 0 (ENOENT, EACCES, EPERM, EAGAIN ...)
    // Which step failed ("execve", "chdir", "setuid", "asmtpd-exec" ...). Without the helper,
    // posix_spawn gives only the errno: "chdir" when cwd is not enterable, else "execve".
    const char* stage = "";
};

SpawnResult spawn_program(const SpawnPlan& plan);

// PATH search in the parent (the child must not allocate): a name with a '/' is returned as is;
// otherwise the first executable match in `path_list` (":"-separated), or "" if none.
std::string resolve_program(const std::string& name, const std::string& path_list);

}  // namespace asmtpd::io
