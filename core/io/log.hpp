// log.hpp - levelled logging to stderr, syslog or the journal; every line carries the session id.
//
// Logger is the per-process sink (asmtpd.yaml's log: section, core/io/log_format.hpp); Log is a
// cheap handle a session or plugin holds: the logger, its session id and a tag (plugin name).
// Formatting is skipped entirely when the level is off, so debug lines cost nothing on the hot
// path. Sending never waits: stderr is one write(2), syslog one non-blocking datagram (dropped
// and counted when the syslog daemon's queue is full), the journal one sd_journal_sendv.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "core/io/log_format.hpp"

namespace asmtpd::io {

class Logger {
public:
    explicit Logger(Level level = Level::Info, std::FILE* out = stderr);
    // worker: the worker's index (-1: a single process, or the supervisor).
    explicit Logger(const LogConfig& config, int worker = -1, std::FILE* out = stderr);
    ~Logger();
    Logger(const Logger&) = delete;
    Logger& operator=(const Logger&) = delete;

    Level level() const { return config_.level; }
    void set_level(Level l) { config_.level = l; }
    // SIGHUP: a new log: section (target, format, facility ...); the loop thread only.
    void configure(const LogConfig& config);
    const LogConfig& config() const { return config_; }
    bool enabled(Level l) const { return static_cast<int>(l) <= static_cast<int>(config_.level); }
    // Text on stderr: "2026-11-22T00:00:00.123Z info 00000000000000a3 [tag] message k=v\n".
    void write(Level l, std::uint64_t sid, std::string_view tag, std::string_view msg,
               std::span<const LogField> fields = {}) const;
    // Syslog datagrams dropped because the syslog daemon's queue was full.
    std::uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

private:
    void write_stderr(const std::string& line) const;
    void send_syslog(const LogRecord& r) const;
    void open_syslog();

    LogConfig config_;
    int worker_ = -1;
    std::FILE* out_;
    bool prefix_ = false;      // "<N>" in front of stderr lines
    bool stamp_ = true;        // the time in text lines (not when the journal stamps them)
    bool journal_missing_ = false;   // target journald, but no journal socket: stderr
    int syslog_fd_ = -1;
    mutable std::atomic<std::uint64_t> dropped_{0};
};

// Sees every line a Log writes (the session's `logging` hook). Called on the thread that
// logs; an implementation that is not thread-safe must check the thread itself.
class LogTap {
public:
    virtual ~LogTap() = default;
    virtual void line(Level l, std::string_view tag, std::string_view msg) const = 0;
};

class Log {
public:
    Log() = default;
    Log(const Logger* logger, std::uint64_t sid, std::string tag = {}, std::shared_ptr<const LogTap> tap = {})
        : logger_(logger), sid_(sid), tag_(std::move(tag)), tap_(std::move(tap)) {}

    Log with_tag(std::string tag) const { return Log(logger_, sid_, std::move(tag), tap_); }
    std::uint64_t sid() const { return sid_; }
    bool enabled(Level l) const { return logger_ && logger_->enabled(l); }

    template <class... A>
    void log(Level l, fmt::format_string<A...> f, A&&... a) const {
        if (!enabled(l)) return;
        std::string msg = fmt::format(f, std::forward<A>(a)...);
        logger_->write(l, sid_, tag_, msg);
        if (tap_) tap_->line(l, tag_, msg);
    }
    // A line with structured fields (client_ip, helo, sender, recipient ...): fields in JSON
    // and the journal, " key=value" after the message in text (the logging hook sees that).
    template <class... A>
    void log_fields(Level l, std::span<const LogField> fields, fmt::format_string<A...> f, A&&... a) const {
        if (!enabled(l)) return;
        std::string msg = fmt::format(f, std::forward<A>(a)...);
        logger_->write(l, sid_, tag_, msg, fields);
        if (tap_) tap_->line(l, tag_, msg + format_text_fields(fields));
    }
    template <class... A> void error(fmt::format_string<A...> f, A&&... a) const { log(Level::Error, f, std::forward<A>(a)...); }
    template <class... A> void warn(fmt::format_string<A...> f, A&&... a) const { log(Level::Warn, f, std::forward<A>(a)...); }
    template <class... A> void notice(fmt::format_string<A...> f, A&&... a) const { log(Level::Notice, f, std::forward<A>(a)...); }
    template <class... A> void info(fmt::format_string<A...> f, A&&... a) const { log(Level::Info, f, std::forward<A>(a)...); }
    template <class... A> void debug(fmt::format_string<A...> f, A&&... a) const { log(Level::Debug, f, std::forward<A>(a)...); }

private:
    const Logger* logger_ = nullptr;
    std::uint64_t sid_ = 0;
    std::string tag_;
    std::shared_ptr<const LogTap> tap_;
};

}  // namespace asmtpd::io
