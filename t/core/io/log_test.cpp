// log_test.cpp - io::Logger line format, level filtering, control-character scrubbing.
#include "core/io/log.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <regex>
#include <string>
#include <vector>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io;

namespace {

// Captures what a Logger writes, through a real FILE*.
class Capture {
public:
    Capture() : f_(std::tmpfile()) { REQUIRE(f_ != nullptr); }
    ~Capture() { std::fclose(f_); }
    std::FILE* file() { return f_; }
    std::string text() {
        std::fflush(f_);
        std::string out;
        std::rewind(f_);
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, f_)) > 0) out.append(buf, n);
        return out;
    }

private:
    std::FILE* f_;
};

// Counts how often fmt actually formats it.
struct Expensive {
    int* calls;
};

}  // namespace

}  // namespace ASMTPD_TEST_UNIT

template <>
struct fmt::formatter<ASMTPD_TEST_UNIT::Expensive> : fmt::formatter<int> {
    auto format(const ASMTPD_TEST_UNIT::Expensive& e, fmt::format_context& ctx) const {
        ++*e.calls;
        return fmt::formatter<int>::format(*e.calls, ctx);
    }
};

namespace ASMTPD_TEST_UNIT {

TEST_CASE("line format: UTC timestamp with ms, level, %016x session id, tag, message") {
    Capture cap;
    Logger logger(Level::Debug, cap.file());
    // The logger's clock (CLOCK_REALTIME): time() reads a coarse clock that may lag it by a
    // tick, and then a line written just past a second boundary looked "later than after".
    const auto realtime = [] {
        timespec t{};
        clock_gettime(CLOCK_REALTIME, &t);
        return t.tv_sec;
    };
    const std::time_t before = realtime();
    logger.write(Level::Info, 0xa3, "rcpt_ok", "hello world");
    const std::time_t after = realtime();
    const std::string line = cap.text();

    const std::regex re(R"(^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z info 00000000000000a3 \[rcpt_ok\] hello world\n$)");
    std::smatch m;
    REQUIRE(std::regex_match(line, m, re));
    std::tm tm{};
    tm.tm_year = std::stoi(m[1]) - 1900;
    tm.tm_mon = std::stoi(m[2]) - 1;
    tm.tm_mday = std::stoi(m[3]);
    tm.tm_hour = std::stoi(m[4]);
    tm.tm_min = std::stoi(m[5]);
    tm.tm_sec = std::stoi(m[6]);
    const std::time_t stamp = timegm(&tm);   // UTC, not local time
    CHECK(stamp >= before);
    CHECK(stamp <= after);
}

TEST_CASE("empty tag: no brackets; full 64-bit session id") {
    Capture cap;
    Logger logger(Level::Info, cap.file());
    logger.write(Level::Error, 0xffffffffffffffffull, "", "boom");
    const std::string line = cap.text();
    CHECK(line.find(" error ffffffffffffffff boom\n") != std::string::npos);
    CHECK(line.find('[') == std::string::npos);
}

TEST_CASE("control characters in message and tag cannot forge lines") {
    Capture cap;
    Logger logger(Level::Info, cap.file());
    std::string evil = "MAIL FROM:<a@b>\r\n2026-01-01T00:00:00.000Z info 0000000000000000 forged";
    evil.push_back('\0');
    evil += "\x1b[31m\x7f\ttail";
    logger.write(Level::Info, 1, "t\nag", evil);
    const std::string out = cap.text();
    CHECK(std::count(out.begin(), out.end(), '\n') == 1);
    CHECK(out.back() == '\n');
    CHECK(out.find("[t?ag] ") != std::string::npos);
    CHECK(out.find("MAIL FROM:<a@b>??2026-01-01T00:00:00.000Z info 0000000000000000 forged??[31m??tail\n") !=
          std::string::npos);
    // 8-bit bytes (UTF-8 names) pass through untouched.
    Capture cap2;
    Logger l2(Level::Info, cap2.file());
    l2.write(Level::Info, 1, "", "j\xc3\xb6rg");
    CHECK(cap2.text().find("j\xc3\xb6rg\n") != std::string::npos);
}

TEST_CASE("level filter: Log formats and writes only enabled levels") {
    Capture cap;
    Logger logger(Level::Notice, cap.file());
    Log log(&logger, 5, "core");
    log.debug("debug {}", 1);
    log.info("info {}", 2);
    log.notice("notice {}", 3);
    log.warn("warn {}", 4);
    log.error("error {}", 5);
    const std::string out = cap.text();
    CHECK(out.find("debug 1") == std::string::npos);
    CHECK(out.find("info 2") == std::string::npos);
    CHECK(out.find(" notice 0000000000000005 [core] notice 3\n") != std::string::npos);
    CHECK(out.find(" warn 0000000000000005 [core] warn 4\n") != std::string::npos);
    CHECK(out.find(" error 0000000000000005 [core] error 5\n") != std::string::npos);
    CHECK(std::count(out.begin(), out.end(), '\n') == 3);

    int calls = 0;
    log.debug("{}", Expensive{&calls});   // disabled: never formatted
    CHECK(calls == 0);
    log.error("{}", Expensive{&calls});
    CHECK(calls == 1);

    CHECK_FALSE(log.enabled(Level::Info));
    logger.set_level(Level::Debug);
    CHECK(log.enabled(Level::Debug));
    CHECK(log.with_tag("x").sid() == 5);

    Log detached;   // no logger: silently off
    CHECK_FALSE(detached.enabled(Level::Error));
    detached.error("nothing {}", 1);
}

TEST_CASE("level names round-trip; unknown names are rejected") {
    for (Level l : {Level::Error, Level::Warn, Level::Notice, Level::Info, Level::Debug}) {
        auto back = level_from_name(level_name(l));
        REQUIRE(back.has_value());
        CHECK(*back == l);
    }
    CHECK(level_name(Level::Warn) == "warn");
    CHECK(level_from_name("DEBUG") == Level::Debug);
    CHECK(level_from_name("warning") == Level::Warn);
    CHECK_FALSE(level_from_name("").has_value());
    CHECK_FALSE(level_from_name("infoo").has_value());
    CHECK_FALSE(level_from_name("inf").has_value());
    CHECK(level_name(static_cast<Level>(42)) == "unknown");
}

TEST_CASE("lines from several processes sharing one file never interleave") {
    std::FILE* f = std::tmpfile();
    REQUIRE(f != nullptr);
    const int fd = fileno(f);
    REQUIRE(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_APPEND) == 0);
    constexpr int kProcs = 4, kLines = 200;
    std::vector<pid_t> kids;
    for (int p = 0; p < kProcs; ++p) {
        pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            Logger logger(Level::Info, f);
            const std::string msg(6000, static_cast<char>('A' + p));   // larger than BUFSIZ
            for (int i = 0; i < kLines; ++i) logger.write(Level::Info, static_cast<std::uint64_t>(p), "", msg);
            _exit(0);
        }
        kids.push_back(pid);
    }
    for (pid_t pid : kids) {
        int status = 0;
        REQUIRE(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status));
    }
    std::string all;
    std::rewind(f);
    char buf[65536];
    std::size_t n;
    while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) all.append(buf, n);
    std::fclose(f);

    int lines = 0, bad = 0;
    std::size_t pos = 0;
    while (pos < all.size()) {
        const std::size_t end = all.find('\n', pos);
        REQUIRE(end != std::string::npos);
        const std::string line = all.substr(pos, end - pos);
        pos = end + 1;
        ++lines;
        const std::size_t msg_at = line.rfind(' ') + 1;
        const std::string msg = line.substr(msg_at);
        const char sid_digit = line[msg_at - 2];   // last hex digit of the session id
        if (msg.size() != 6000 || msg.find_first_not_of(msg[0]) != std::string::npos ||
            msg[0] != static_cast<char>('A' + (sid_digit - '0')))
            ++bad;
    }
    CHECK(lines == kProcs * kLines);
    CHECK(bad == 0);
}

}  // namespace ASMTPD_TEST_UNIT
