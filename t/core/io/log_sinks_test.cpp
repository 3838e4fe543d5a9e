// log_sinks_test.cpp - io::Logger's targets: "<N>" prefixes on stderr when it is the journal
// (JOURNAL_STREAM) or always; json lines; syslog datagrams to a socket, never blocking on a
// syslog daemon that does not read (dropped and counted), stderr when none listens.
#include "core/io/log.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io;

namespace {

std::string read_all(std::FILE* f) {
    std::fflush(f);
    std::rewind(f);
    std::string out;
    char buf[4096];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
    return out;
}

// A datagram socket bound at a temporary path: a syslog daemon that reads when asked.
struct Receiver {
    std::string dir, path;
    int fd = -1;
    Receiver() {
        char tmpl[] = "/tmp/asmtpd-log-XXXXXX";
        REQUIRE(mkdtemp(tmpl) != nullptr);
        dir = tmpl;
        path = dir + "/log";
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un a{};
        a.sun_family = AF_UNIX;
        std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path.c_str());
        REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    }
    ~Receiver() {
        close(fd);
        unlink(path.c_str());
        rmdir(dir.c_str());
    }
    std::string next() {
        char buf[65536];
        const ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
    }
};

}  // namespace

TEST_CASE("stderr is the journal (JOURNAL_STREAM = its dev:ino): <N> prefix, no timestamp") {
    std::FILE* f = std::tmpfile();
    REQUIRE(f);
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {   // stderr and the environment are the process's: change them in a child
        dup2(fileno(f), STDERR_FILENO);
        struct stat st {};
        fstat(STDERR_FILENO, &st);
        const std::string js = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
        setenv("JOURNAL_STREAM", js.c_str(), 1);
        LogConfig c;
        c.level = Level::Debug;
        Logger journal(c);
        journal.write(Level::Warn, 0xa3, "x", "to the journal");
        setenv("JOURNAL_STREAM", "1:2", 1);   // another stream: not ours
        Logger plain(c);
        plain.write(Level::Info, 0xa3, "", "plain");
        c.prefix = PriorityPrefix::Always;
        c.format = LogFormat::Json;
        Logger always(c);
        always.write(Level::Error, 1, "", "always");
        _exit(0);
    }
    int status = 0;
    REQUIRE(waitpid(pid, &status, 0) == pid);
    const std::string out = read_all(f);
    std::fclose(f);
    const auto first = out.find('\n');
    REQUIRE(first != std::string::npos);
    CHECK(out.substr(0, first) == "<4>warn 00000000000000a3 [x] to the journal");
    const auto second = out.find('\n', first + 1);
    const std::string plain = out.substr(first + 1, second - first - 1);
    CHECK(plain[0] == '2');   // a timestamp, no prefix
    CHECK(plain.find(" info 00000000000000a3 plain") != std::string::npos);
    CHECK(out.substr(second + 1).rfind("<3>{\"time\":", 0) == 0);
}

TEST_CASE("syslog: one datagram per line; a daemon that does not read never blocks the writer") {
    Receiver rx;
    LogConfig c;
    c.target = LogTarget::Syslog;
    c.syslog_socket = rx.path;
    c.facility = 2;
    std::FILE* err = std::tmpfile();
    Logger log(c, 3, err);
    const LogField fields[] = {{"client_ip", "192.0.2.1"}};
    log.write(Level::Notice, 0xa3, "rcpt_ok", "refused", fields);
    const std::string d = rx.next();
    CHECK(d.rfind("<21>", 0) == 0);   // mail.notice
    CHECK(d.find(" asmtpd[" + std::to_string(getpid()) + "]: notice 00000000000000a3 [rcpt_ok] refused client_ip=192.0.2.1") !=
          std::string::npos);
    // Nobody reads now: the socket's queue fills, then lines are dropped, never waited for.
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < 5000; ++i) log.write(Level::Info, 1, "", std::string(200, 'x'));
    const auto took = std::chrono::steady_clock::now() - t0;
    CHECK(log.dropped() > 0);
    CHECK(took < std::chrono::seconds(2));
    CHECK(read_all(err).empty());
    std::fclose(err);
}

TEST_CASE("syslog: no daemon at the socket path, the line goes to stderr") {
    LogConfig c;
    c.target = LogTarget::Syslog;
    c.syslog_socket = "/nonexistent/asmtpd-test/log";
    std::FILE* err = std::tmpfile();
    Logger log(c, -1, err);
    log.write(Level::Error, 7, "", "still seen");
    CHECK(read_all(err).find(" error 0000000000000007 still seen\n") != std::string::npos);
    std::fclose(err);
}

}  // namespace ASMTPD_TEST_UNIT
