// child_input_test.cpp - what a child reads and which fds it gets: stdin from a string and from
// a 20 MB file spool (byte-exact), a child that does not read, qmail-queue's fd 1 and fd 6.
#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include "core/io/child_process.hpp"
#include "core/io/spool.hpp"
#include "t/core/io/test_loop.hpp"
#include "t/core/io/child_test_support.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io;
using namespace asmtpd::io::test::child;
using asmtpd::io::test::TestLoop;
using asmtpd::io::test::pattern;

TEST_CASE("child: stdin_data is written then closed") {
    TestLoop loop;
    ChildRunner runner(loop.get(), 4);
    ChildSpec s;
    s.program = "/bin/cat";
    s.stdin_data = pattern(300000, 3);   // more than a socket buffer; every byte value
    s.stdout_limit = 1 << 20;
    auto r = run_one(loop, runner, s);
    CHECK(r.exit_status == 0);
    CHECK_FALSE(r.input_failed);
    CHECK(r.out.size() == s.stdin_data.size());
    CHECK(r.out == s.stdin_data);

    // No input: stdin is /dev/null (EOF at once), not an inherited descriptor.
    r = run_one(loop, runner, sh("cat; test -c /proc/self/fd/0 && echo devnull"));
    CHECK(r.out == "devnull\n");
}

TEST_CASE("child: stdin streamed from a 20 MB file spool, prefix first, byte-exact") {
    TestLoop loop;
    TempDir dir;
    ChildRunner runner(loop.get(), 4);
    const std::string body = pattern(20 * 1024 * 1024, 9);
    auto spool = file_spool(loop, dir.path, body);

    ChildSpec count = sh("wc -c");
    count.stdin_spool = spool;
    auto r = run_one(loop, runner, count, 30000);
    CHECK(r.exit_status == 0);
    CHECK_FALSE(r.input_failed);
    CHECK(std::atoll(r.out.c_str()) == static_cast<long long>(body.size()));

    const std::string out = dir.path + "/copy";
    ChildSpec copy = sh("cat > \"$OUT\"");
    copy.env.push_back("OUT=" + out);
    copy.stdin_data = "Received: by test\r\n";
    copy.stdin_spool = spool;
    r = run_one(loop, runner, copy, 30000);
    CHECK(r.exit_status == 0);
    CHECK_FALSE(r.input_failed);
    std::string got = slurp(out);
    CHECK(got.size() == copy.stdin_data.size() + body.size());
    CHECK((got == copy.stdin_data + body));

    // An in-memory spool goes the same way.
    auto small = Spool::create(loop.get(), dir.path, 1 << 20);
    small->append("in memory\n");
    ChildSpec mem;
    mem.program = "/bin/cat";
    mem.stdin_spool = small;
    r = run_one(loop, runner, mem);
    CHECK(r.out == "in memory\n");
    // An empty spool and no data: the child gets EOF at once.
    auto empty = Spool::create(loop.get(), dir.path, 1 << 20);
    mem.stdin_spool = empty;
    r = run_one(loop, runner, mem);
    CHECK(r.out.empty());
    CHECK(r.exit_status == 0);
}

TEST_CASE("child: a child that does not read its input gives input_failed, not a crash") {
    TestLoop loop;
    TempDir dir;
    ChildRunner runner(loop.get(), 4);
    ChildSpec s = sh("exit 3");
    s.stdin_data = std::string(4 * 1024 * 1024, 'x');
    auto r = run_one(loop, runner, s);
    CHECK(r.exit_status == 3);
    CHECK(r.input_failed);

    // Reads a little, then stops: the rest of a file spool cannot be written.
    ChildSpec half = sh("head -c 1000 >/dev/null; exit 0");
    half.stdin_spool = file_spool(loop, dir.path, pattern(8 * 1024 * 1024, 2));
    r = run_one(loop, runner, half, 20000);
    CHECK(r.exit_status == 0);
    CHECK(r.input_failed);
}

TEST_CASE("child: input fd 1 (qmail-queue envelope) and output fd 6; other fds closed") {
    TestLoop loop;
    ChildRunner runner(loop.get(), 4);
    // An fd of ours without O_CLOEXEC must not reach the child.
    int leaky = ::open("/dev/null", O_RDONLY);
    REQUIRE(leaky >= 3);
    ChildSpec s = sh("cat <&1 >&6; for f in 0 1 2 3 4 5 6 7 8 9 $LEAKY; do [ -e /proc/$$/fd/$f ] && echo $f >&2; done; printf 'Zsorry' >&6; exit 82");
    s.capture_stdout = false;
    s.env.push_back("LEAKY=" + std::to_string(leaky));
    s.stdin_data = "message body\n";
    const std::string envelope("Fa@b.example\0Tc@d.example\0\0", 27);
    s.input_fds.push_back({1, envelope});
    s.output_fds.push_back(6);
    std::vector<std::string> err;
    s.on_stderr = [&](std::string_view l) { err.emplace_back(l); };
    auto r = run_one(loop, runner, s);
    ::close(leaky);
    CHECK(r.exit_status == 82);
    CHECK_FALSE(r.input_failed);
    CHECK(r.out.empty());
    REQUIRE(r.extra_out.size() == 1);
    CHECK(r.extra_out[0] == envelope + "Zsorry");
    // The leaky fd and libuv's internals stayed behind.
    std::string listed;
    for (const auto& l : err) listed += l + " ";
    CHECK(listed == "0 1 2 6 ");
}

}  // namespace ASMTPD_TEST_UNIT
