// wait_status.hpp - a waitpid(2) status in words, for log lines: never a raw number.
#pragma once

#include <string>

namespace asmtpd::io {

// "exited with status 3", "killed by signal 9 (SIGKILL)", "killed by signal 6 (SIGABRT), core
// dumped", "stopped by signal 19 (SIGSTOP)".
std::string describe_wait_status(int status);

// "SIGKILL" for 9; "SIG?" for a number the C library has no name for.
std::string signal_name(int sig);

}  // namespace asmtpd::io
