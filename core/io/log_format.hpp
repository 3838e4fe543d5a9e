// log_format.hpp - what one log line looks like on each target (pure: no I/O, no clock).
//
// A LogRecord is one line: level, time, session id, worker, tag (plugin), message and optional
// structured fields (client_ip, helo, sender, recipient ...). The functions here turn it into
// the bytes a sink sends: a text line, a JSON object, an RFC 3164 datagram for the syslog
// socket, or the FIELD=value list sd_journal_sendv takes. Never: let client bytes forge a line
// (text scrubs control characters; JSON escapes them and replaces invalid UTF-8 with U+FFFD).
#pragma once

#include <cstdint>
#include <ctime>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::io {

enum class Level { Error = 3, Warn = 4, Notice = 5, Info = 6, Debug = 7 };   // = syslog priorities

std::string_view level_name(Level l);
std::optional<Level> level_from_name(std::string_view name);

enum class LogTarget { Stderr, Syslog, Journald };
enum class LogFormat { Text, Json };
// stderr: put sd-daemon(3) "<N>" priority prefixes in front of each line. Auto: only when
// stderr is the journal (JOURNAL_STREAM names stderr's device and inode, systemd.exec(5)).
enum class PriorityPrefix { Auto, Always, Never };

// asmtpd.yaml's log: section (core/smtp/settings parses it).
struct LogConfig {
    Level level = Level::Info;
    LogTarget target = LogTarget::Stderr;
    LogFormat format = LogFormat::Text;
    PriorityPrefix prefix = PriorityPrefix::Auto;
    int facility = 2;                       // syslog facility number: 2 = mail
    std::string syslog_socket = "/dev/log";
    std::string identifier = "asmtpd";      // syslog tag, SYSLOG_IDENTIFIER
    bool operator==(const LogConfig&) const = default;
};

std::optional<int> facility_from_name(std::string_view name);   // "mail", "local0" ... "local7", "daemon"

// One structured field: key in lower_snake_case ("client_ip"); journald gets it upper-cased.
struct LogField {
    std::string_view key;
    std::string_view value;
};

struct LogRecord {
    Level level = Level::Info;
    timespec time{};                        // CLOCK_REALTIME
    std::uint64_t sid = 0;                  // 0: not a session's line
    int worker = -1;                        // -1: single process or the supervisor
    std::string_view tag;                   // plugin name; empty: the daemon
    std::string_view message;
    std::span<const LogField> fields;
};

// "2026-11-22T00:00:00.123Z" (UTC, milliseconds).
std::string iso_time(const timespec& t);

// "[time ]level sid [tag] message k=v k2="v 2"" without the newline; control characters become
// '?', values with spaces, quotes or '=' are quoted (logfmt style), empty values are "".
std::string format_text(const LogRecord& r, bool with_time);
// The fields alone, as format_text appends them: " client_ip=192.0.2.1 helo=x".
std::string format_text_fields(std::span<const LogField> fields);

// {"time":...,"level":...,"session":"%016x","worker":N,"tag":...,"message":...,<fields>}
// on one line, no newline. worker and tag only when set.
std::string format_json(const LogRecord& r);
// Appends s as a JSON string (with quotes): any byte sequence gives valid UTF-8 JSON.
void append_json_string(std::string& out, std::string_view s);

// "<PRI>Mmm dd hh:mm:ss ident[pid]: body" as glibc's syslog(3) sends to /dev/log; `local` is
// the local time of the record. body is format_text without the time, or the JSON object.
std::string syslog_datagram(const LogRecord& r, LogFormat f, int facility, std::string_view ident, long pid,
                            const std::tm& local);

// The journal fields of a record, each "NAME=value": MESSAGE (as for syslog), PRIORITY,
// SYSLOG_IDENTIFIER, SYSLOG_FACILITY, SESSION_ID (when set), ASMTPD_WORKER (when set),
// ASMTPD_PLUGIN (tag, when set), then each field upper-cased (CLIENT_IP=...). Values keep their
// bytes (journald stores binary values); field names are sanitized to [A-Z0-9_].
std::vector<std::string> journal_fields(const LogRecord& r, LogFormat f, int facility, std::string_view ident);
std::string journal_field_name(std::string_view key);

// JOURNAL_STREAM is "DEV:INODE" of the journal's stream socket: does it name (dev, ino)?
bool journal_stream_matches(const char* env, std::uint64_t dev, std::uint64_t ino);

}  // namespace asmtpd::io
