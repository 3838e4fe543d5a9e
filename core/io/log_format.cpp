// log_format.cpp - the bytes of one log line per target; see log_format.hpp.
#include "core/io/log_format.hpp"

#include <array>
#include <cstdlib>

#include <fmt/format.h>

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

struct FacilityRow {
    std::string_view name;
    int number;
};

constexpr std::array<FacilityRow, 12> kFacilities{{
    {"mail", 2}, {"daemon", 3}, {"user", 1}, {"news", 7},
    {"local0", 16}, {"local1", 17}, {"local2", 18}, {"local3", 19},
    {"local4", 20}, {"local5", 21}, {"local6", 22}, {"local7", 23},
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

// Length of the well-formed UTF-8 sequence at s[i] (RFC 3629: no overlongs, no surrogates,
// nothing past U+10FFFF), or 0 when it is not one.
std::size_t utf8_sequence(std::string_view s, std::size_t i) {
    auto at = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    const unsigned char c = at(i);
    auto cont = [&](std::size_t k) { return k < s.size() && (at(k) & 0xC0) == 0x80; };
    if (c >= 0xC2 && c <= 0xDF) return cont(i + 1) ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        if (!cont(i + 1) || !cont(i + 2)) return 0;
        const unsigned char c1 = at(i + 1);
        if (c == 0xE0 && c1 < 0xA0) return 0;   // overlong
        if (c == 0xED && c1 > 0x9F) return 0;   // surrogate
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (!cont(i + 1) || !cont(i + 2) || !cont(i + 3)) return 0;
        const unsigned char c1 = at(i + 1);
        if (c == 0xF0 && c1 < 0x90) return 0;   // overlong
        if (c == 0xF4 && c1 > 0x8F) return 0;   // past U+10FFFF
        return 4;
    }
    return 0;
}

bool needs_quotes(std::string_view v) {
    if (v.empty()) return true;
    for (char c : v)
        if (c == ' ' || c == '"' || c == '=' || c == '\\') return true;
    return false;
}

std::string body(const LogRecord& r, LogFormat f) {
    return f == LogFormat::Json ? format_json(r) : format_text(r, false);
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

std::optional<int> facility_from_name(std::string_view name) {
    for (const auto& row : kFacilities)
        if (iequals(row.name, name)) return row.number;
    return std::nullopt;
}

std::string iso_time(const timespec& t) {
    std::tm tm{};
    gmtime_r(&t.tv_sec, &tm);
    return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                       tm.tm_hour, tm.tm_min, tm.tm_sec, t.tv_nsec / 1000000);
}

std::string format_text_fields(std::span<const LogField> fields) {
    std::string out;
    for (const auto& f : fields) {
        out.push_back(' ');
        append_clean(out, f.key);
        out.push_back('=');
        if (!needs_quotes(f.value)) {
            append_clean(out, f.value);
            continue;
        }
        out.push_back('"');
        for (char c : f.value) {
            if (c == '"' || c == '\\') out.push_back('\\');
            out.push_back(is_control(static_cast<unsigned char>(c)) ? '?' : c);
        }
        out.push_back('"');
    }
    return out;
}

std::string format_text(const LogRecord& r, bool with_time) {
    std::string line;
    line.reserve(64 + r.tag.size() + r.message.size());
    if (with_time) {
        line = iso_time(r.time);
        line.push_back(' ');
    }
    fmt::format_to(std::back_inserter(line), "{} {:016x} ", level_name(r.level), r.sid);
    if (!r.tag.empty()) {
        line.push_back('[');
        append_clean(line, r.tag);
        line.append("] ");
    }
    append_clean(line, r.message);
    line += format_text_fields(r.fields);
    return line;
}

void append_json_string(std::string& out, std::string_view s) {
    out.push_back('"');
    for (std::size_t i = 0; i < s.size();) {
        const unsigned char c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            switch (c) {
                case '"': out += "\\\""; break;
                case '\\': out += "\\\\"; break;
                case '\n': out += "\\n"; break;
                case '\r': out += "\\r"; break;
                case '\t': out += "\\t"; break;
                default:
                    if (c < 0x20 || c == 0x7f) out += fmt::format("\\u{:04x}", c);
                    else out.push_back(static_cast<char>(c));
            }
            ++i;
            continue;
        }
        if (const std::size_t n = utf8_sequence(s, i); n > 0) {
            out.append(s.substr(i, n));
            i += n;
        } else {
            out += "\\ufffd";   // one replacement per invalid byte
            ++i;
        }
    }
    out.push_back('"');
}

std::string format_json(const LogRecord& r) {
    std::string out;
    out.reserve(128 + r.message.size());
    out += "{\"time\":\"" + iso_time(r.time) + "\",\"level\":\"";
    out += level_name(r.level);
    out += fmt::format("\",\"session\":\"{:016x}\"", r.sid);
    if (r.worker >= 0) out += fmt::format(",\"worker\":{}", r.worker);
    if (!r.tag.empty()) {
        out += ",\"tag\":";
        append_json_string(out, r.tag);
    }
    out += ",\"message\":";
    append_json_string(out, r.message);
    for (const auto& f : r.fields) {
        out.push_back(',');
        append_json_string(out, f.key);
        out.push_back(':');
        append_json_string(out, f.value);
    }
    out.push_back('}');
    return out;
}

std::string syslog_datagram(const LogRecord& r, LogFormat f, int facility, std::string_view ident, long pid,
                            const std::tm& local) {
    static constexpr std::array<const char*, 12> kMonths{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const int month = local.tm_mon >= 0 && local.tm_mon < 12 ? local.tm_mon : 0;
    std::string out = fmt::format("<{}>{} {:2} {:02}:{:02}:{:02} ", facility * 8 + static_cast<int>(r.level),
                                  kMonths[static_cast<std::size_t>(month)], local.tm_mday, local.tm_hour,
                                  local.tm_min, local.tm_sec);
    append_clean(out, ident);
    out += fmt::format("[{}]: ", pid);
    out += body(r, f);
    return out;
}

std::string journal_field_name(std::string_view key) {
    std::string out;
    for (char c : key) {
        if (c >= 'a' && c <= 'z') out.push_back(static_cast<char>(c - 'a' + 'A'));
        else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) out.push_back(c);
        else out.push_back('_');
    }
    // journald: at most 64 characters, not starting with '_' (trusted fields) or a digit.
    while (!out.empty() && (out.front() == '_' || (out.front() >= '0' && out.front() <= '9'))) out.erase(0, 1);
    if (out.size() > 64) out.resize(64);
    return out.empty() ? "FIELD" : out;
}

std::vector<std::string> journal_fields(const LogRecord& r, LogFormat f, int facility, std::string_view ident) {
    std::vector<std::string> out;
    out.reserve(8 + r.fields.size());
    out.push_back("MESSAGE=" + body(r, f));
    out.push_back(fmt::format("PRIORITY={}", static_cast<int>(r.level)));
    out.push_back("SYSLOG_IDENTIFIER=" + std::string(ident));
    out.push_back(fmt::format("SYSLOG_FACILITY={}", facility));
    if (r.sid != 0) out.push_back(fmt::format("SESSION_ID={:016x}", r.sid));
    if (r.worker >= 0) out.push_back(fmt::format("ASMTPD_WORKER={}", r.worker));
    if (!r.tag.empty()) out.push_back("ASMTPD_PLUGIN=" + std::string(r.tag));
    for (const auto& fl : r.fields) out.push_back(journal_field_name(fl.key) + "=" + std::string(fl.value));
    return out;
}

bool journal_stream_matches(const char* env, std::uint64_t dev, std::uint64_t ino) {
    if (!env || !*env) return false;
    char* end = nullptr;
    const unsigned long long d = std::strtoull(env, &end, 10);
    if (end == env || *end != ':') return false;
    const char* rest = end + 1;
    const unsigned long long i = std::strtoull(rest, &end, 10);
    if (end == rest || *end != '\0') return false;
    return d == dev && i == ino;
}

}  // namespace asmtpd::io
