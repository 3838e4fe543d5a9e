// log.cpp - hands one formatted log line to its target (log_format.cpp builds the bytes).
//
// Must never: split one line over several writes (workers share stderr, so each line goes out
// as one write(2) on the stream's descriptor; stdio may split a long fwrite in two), or wait on
// a slow syslog daemon (the socket is non-blocking; a full queue drops the line and counts it).
// Streams without a descriptor (memory streams) get one fwrite.
// Ownership: Logger borrows its FILE*; it never closes it. It owns its syslog socket.
#include "core/io/log.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-journal.h>

namespace asmtpd::io {

namespace {

constexpr std::size_t kMaxDatagram = 8192;
constexpr const char* kJournalSocket = "/run/systemd/journal/socket";   // where sd_journal_sendv sends   // rsyslog's default message size; longer is cut

bool stderr_is_journal(std::FILE* out) {
    if (out != stderr) return false;
    struct stat st {};
    if (fstat(STDERR_FILENO, &st) != 0) return false;
    return journal_stream_matches(std::getenv("JOURNAL_STREAM"), st.st_dev, st.st_ino);
}

}  // namespace

Logger::Logger(Level level, std::FILE* out) : out_(out) {
    config_.level = level;
    config_.prefix = PriorityPrefix::Never;
}

Logger::Logger(const LogConfig& config, int worker, std::FILE* out) : worker_(worker), out_(out) { configure(config); }

Logger::~Logger() {
    if (syslog_fd_ >= 0) ::close(syslog_fd_);
}

void Logger::configure(const LogConfig& config) {
    config_ = config;
    const bool journal = config.prefix == PriorityPrefix::Auto && stderr_is_journal(out_);
    prefix_ = config.prefix == PriorityPrefix::Always || journal;
    stamp_ = !journal;   // the journal stamps each line itself
    if (config_.target == LogTarget::Syslog && syslog_fd_ < 0) open_syslog();
    // libsystemd drops lines silently when no journald listens (a container, a machine booted
    // without systemd): then they go to stderr instead.
    journal_missing_ = config_.target == LogTarget::Journald && ::access(kJournalSocket, W_OK) != 0;
}

void Logger::open_syslog() {
    // Not connected: each datagram names the path, so a restarted syslog daemon (a new
    // socket under the same name) is found again without any reconnect logic. (poll() cannot
    // wait for room on an unconnected datagram socket: a full queue means the line is dropped.
    // The queue holds net.unix.max_dgram_qlen datagrams: 512 with systemd's sysctl defaults,
    // the kernel's own default is 10.)
    syslog_fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
}

void Logger::write(Level l, std::uint64_t sid, std::string_view tag, std::string_view msg,
                   std::span<const LogField> fields) const {
    LogRecord r;
    r.level = l;
    clock_gettime(CLOCK_REALTIME, &r.time);
    r.sid = sid;
    r.worker = worker_;
    r.tag = tag;
    r.message = msg;
    r.fields = fields;
    switch (journal_missing_ ? LogTarget::Stderr : config_.target) {
        case LogTarget::Syslog: send_syslog(r); return;
        case LogTarget::Journald: {
            const auto lines = journal_fields(r, config_.format, config_.facility, config_.identifier);
            std::vector<iovec> iov(lines.size());
            for (std::size_t i = 0; i < lines.size(); ++i)
                iov[i] = iovec{const_cast<char*>(lines[i].data()), lines[i].size()};
            // libsystemd: one datagram (a memfd past the socket's size); no journal, no error.
            if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) < 0)
                write_stderr(format_text(r, true) + "\n");
            return;
        }
        case LogTarget::Stderr: break;
    }
    std::string line;
    if (prefix_) line = fmt::format("<{}>", static_cast<int>(l));
    line += config_.format == LogFormat::Json ? format_json(r) : format_text(r, stamp_);
    line.push_back('\n');
    write_stderr(line);
}

void Logger::send_syslog(const LogRecord& r) const {
    std::tm local{};
    localtime_r(&r.time.tv_sec, &local);
    std::string d = syslog_datagram(r, config_.format, config_.facility, config_.identifier,
                                    static_cast<long>(::getpid()), local);
    if (d.size() > kMaxDatagram) d.resize(kMaxDatagram);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (syslog_fd_ >= 0 && config_.syslog_socket.size() < sizeof addr.sun_path) {
        std::memcpy(addr.sun_path, config_.syslog_socket.data(), config_.syslog_socket.size());
        for (;;) {
            const ssize_t n = ::sendto(syslog_fd_, d.data(), d.size(), MSG_NOSIGNAL,
                                       reinterpret_cast<const sockaddr*>(&addr), sizeof addr);
            if (n >= 0) return;
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS) {
                dropped_.fetch_add(1, std::memory_order_relaxed);
                return;
            }
            break;
        }
    }
    // No syslog daemon listening: the line is not lost, it goes to stderr.
    write_stderr(format_text(r, true) + "\n");
}

void Logger::write_stderr(const std::string& line) const {
    if (!out_) return;
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
