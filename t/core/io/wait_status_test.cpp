// wait_status_test.cpp - wait statuses in words, from real children.
#include "core/io/wait_status.hpp"

#include <doctest/doctest.h>

#include <csignal>

#include <sys/wait.h>
#include <unistd.h>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io;

namespace {

int status_of(void (*child)()) {
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        child();
        _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    return status;
}

}  // namespace

TEST_CASE("describe_wait_status: exit codes and signals by number and name") {
    CHECK(describe_wait_status(status_of([] { _exit(3); })) == "exited with status 3");
    CHECK(describe_wait_status(status_of([] { _exit(0); })) == "exited with status 0");
    CHECK(describe_wait_status(status_of([] { raise(SIGKILL); })) == "killed by signal 9 (SIGKILL)");
    CHECK(describe_wait_status(status_of([] { std::signal(SIGTERM, SIG_DFL);   // not doctest's handler, inherited
                                  raise(SIGTERM); })) == "killed by signal 15 (SIGTERM)");
    CHECK(signal_name(SIGHUP) == "SIGHUP");
    CHECK(signal_name(1000) == "SIG?");
}

}  // namespace ASMTPD_TEST_UNIT
