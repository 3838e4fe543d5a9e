// spawn.hpp - starting one external program without fork()ing the server.
//
// fork() copies the page tables of the whole daemon (libuv 1.44's uv_spawn does exactly that), so
// its cost grows with the server's memory and it dominated the spp path. spawn_program() uses
// clone(CLONE_VM | CLONE_VFORK) on a small private stack instead, like posix_spawn, but it can
// also do what posix_spawn cannot: new session, rlimits, and a different uid/gid.
//
// Must never: call into libc, allocate, or touch shared state from the child (it runs on the
// parent's memory until execve); leave a signal handler of the server armed in the child; leave a
// child that failed before execve unreaped. Reaping a started child is the caller's job, by pid.
// Everything the child needs (resolved path, argv, envp, fd table) is prepared by the caller.
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
    const SpawnCredentials* credentials = nullptr;   // null: keep ours
    SpawnLimits limits;
};

struct SpawnResult {
    pid_t pid = -1;        // > 0: running (the caller reaps it)
    int error = 0;         // errno when pid <= 0 (ENOENT, EACCES, EPERM, EAGAIN ...)
    const char* stage = "";   // which step failed in the child ("execve", "chdir", "setuid" ...)
};

SpawnResult spawn_program(const SpawnPlan& plan);

// PATH search in the parent (the child must not allocate): a name with a '/' is returned as is;
// otherwise the first executable match in `path_list` (":"-separated), or "" if none.
std::string resolve_program(const std::string& name, const std::string& path_list);

}  // namespace asmtpd::io
