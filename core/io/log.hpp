// log.hpp - levelled logging to stderr; every line carries the session id.
//
// Logger is the per-process sink (level + stream); Log is a cheap handle a session or plugin
// holds: the logger, its session id and a tag (plugin name). Formatting is skipped entirely
// when the level is off, so debug lines cost nothing on the hot path.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

namespace asmtpd::io {

enum class Level { Error = 3, Warn = 4, Notice = 5, Info = 6, Debug = 7 };

std::string_view level_name(Level l);
std::optional<Level> level_from_name(std::string_view name);

class Logger {
public:
    explicit Logger(Level level = Level::Info, std::FILE* out = stderr) : level_(level), out_(out) {}
    Level level() const { return level_; }
    void set_level(Level l) { level_ = l; }
    bool enabled(Level l) const { return static_cast<int>(l) <= static_cast<int>(level_); }
    // "2026-11-22T00:00:00.123Z info 00000000000000a3 [tag] message\n"
    void write(Level l, std::uint64_t sid, std::string_view tag, std::string_view msg) const;

private:
    Level level_;
    std::FILE* out_;
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
