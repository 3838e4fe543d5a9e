// wait_status.cpp - see wait_status.hpp.
#include "core/io/wait_status.hpp"

#include <cstring>

#include <sys/wait.h>

#include <fmt/format.h>

namespace asmtpd::io {

std::string signal_name(int sig) {
    const char* abbrev = sigabbrev_np(sig);   // glibc 2.32: "KILL", or null
    return abbrev ? std::string("SIG") + abbrev : std::string("SIG?");
}

std::string describe_wait_status(int status) {
    if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
    if (WIFSIGNALED(status)) {
        const int sig = WTERMSIG(status);
        return fmt::format("killed by signal {} ({}){}", sig, signal_name(sig), WCOREDUMP(status) ? ", core dumped" : "");
    }
    if (WIFSTOPPED(status)) return fmt::format("stopped by signal {} ({})", WSTOPSIG(status), signal_name(WSTOPSIG(status)));
    return fmt::format("ended with wait status {:#x}", status);
}

}  // namespace asmtpd::io
