// log.cpp - formats one log line and hands it to the stream in a single fwrite.
//
// Must never: let client bytes forge a log line (every control character in the message or tag
// becomes '?'), or split one line over several writes: workers share stderr, so each line goes
// out as one write(2) on the stream's descriptor (stdio may split a long fwrite in two). Streams
// without a descriptor (memory streams) get one fwrite.
// Ownership: Logger borrows its FILE*; it never closes it.
#include "core/io/log.hpp"

#include <array>
#include <cerrno>
#include <ctime>

#include <unistd.h>

namespace asmtpd::io {

namespace {

struct LevelRow {
    Level level;
    std::string_view name;
};

constexpr std::array<LevelRow, 5> kLevels{{
    {Level::Error, "error"},
    {Level::Warn, "warn"},
    {Level::Notice, "notice"},
    {Level::Info, "info"},
    {Level::Debug, "debug"},
}};

bool is_control(unsigned char c) { return c < 0x20 || c == 0x7f; }

void append_clean(std::string& out, std::string_view s) {
    for (char c : s) out.push_back(is_control(static_cast<unsigned char>(c)) ? '?' : c);
}

char ascii_lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
    return true;
}

}  // namespace

std::string_view level_name(Level l) {
    for (const auto& row : kLevels)
        if (row.level == l) return row.name;
    return "unknown";
}

std::optional<Level> level_from_name(std::string_view name) {
    for (const auto& row : kLevels)
        if (iequals(row.name, name)) return row.level;
    // Spellings used by syslog and qpsmtpd's loglevel file.
    if (iequals(name, "warning")) return Level::Warn;
    if (iequals(name, "err")) return Level::Error;
    return std::nullopt;
}

void Logger::write(Level l, std::uint64_t sid, std::string_view tag, std::string_view msg) const {
    if (!out_) return;
    timespec ts{};
    clock_gettime(CLOCK_REALTIME, &ts);
    std::tm tm{};
    gmtime_r(&ts.tv_sec, &tm);

    std::string line;
    line.reserve(64 + tag.size() + msg.size());
    fmt::format_to(std::back_inserter(line), "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z {} {:016x} ",
                   tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                   ts.tv_nsec / 1000000, level_name(l), sid);
    if (!tag.empty()) {
        line.push_back('[');
        append_clean(line, tag);
        line.append("] ");
    }
    append_clean(line, msg);
    line.push_back('\n');
    std::fflush(out_);   // whatever stdio holds goes first, keeping lines in order
    const int fd = fileno(out_);
    if (fd < 0) {
        std::fwrite(line.data(), 1, line.size(), out_);
        std::fflush(out_);
        return;
    }
    const char* p = line.data();
    std::size_t left = line.size();
    while (left > 0) {   // a short write happens only on pipes past PIPE_BUF or on signals
        const ssize_t n = ::write(fd, p, left);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;   // nowhere to report a failing log; drop the line
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

}  // namespace asmtpd::io
