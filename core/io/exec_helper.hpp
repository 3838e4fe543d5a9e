// exec_helper.hpp - what spawn_program and the asmtpd-exec helper (tools/exec/) agree on: the
// helper's command line and the report it writes when it cannot run the program.
//
// posix_spawn can start a child in a new session, with a clean signal state, a working
// directory and an fd table, but it cannot lower rlimits or drop to another uid/gid. When a
// child needs either, spawn_program posix_spawns asmtpd-exec instead, which applies them and
// execve()s the real program:
//
//   asmtpd-exec STATUS_FD UID GID CPU AS CWD PATH ARGV0 [ARG...]
//
// UID/GID: decimal, or "-" to keep ours (both or neither). CPU (seconds), AS (bytes): decimal,
// 0 = inherited. CWD: "" = inherited; it is entered after the uid switch, so it is checked with
// the new user's rights. STATUS_FD is close-on-exec once the helper runs: it reaches EOF when
// PATH was exec'd, or carries one Report when a step failed (then the helper exits 127).
// The environment is the child's own (the helper passes it on untouched).
#pragma once

namespace asmtpd::io::exec_helper {

inline constexpr const char* kProgramName = "asmtpd-exec";
inline constexpr int kFirstProgramArg = 7;   // argv index of PATH
inline constexpr int kExitCannotRun = 127;

enum Stage : int {
    kUsage = 1,
    kRlimitCpu,
    kRlimitAs,
    kSetgroups,
    kSetgid,
    kSetuid,
    kChdir,
    kExecve,
};

// Written in one write() (far below PIPE_BUF, so never split).
struct Report {
    int stage;
    int error;   // errno of the failed step
};

inline const char* stage_name(int stage) {
    switch (stage) {
        case kUsage: return "asmtpd-exec usage";
        case kRlimitCpu: return "setrlimit(RLIMIT_CPU)";
        case kRlimitAs: return "setrlimit(RLIMIT_AS)";
        case kSetgroups: return "setgroups";
        case kSetgid: return "setgid";
        case kSetuid: return "setuid";
        case kChdir: return "chdir";
        case kExecve: return "execve";
        default: return "asmtpd-exec";
    }
}

}  // namespace asmtpd::io::exec_helper
