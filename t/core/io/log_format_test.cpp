// log_format_test.cpp - the bytes of a log line per target: text fields, JSON escaping of any
// byte sequence, syslog priorities, journal fields, JOURNAL_STREAM matching.
#include "core/io/log_format.hpp"

#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::io;

namespace {

LogRecord record(std::string_view msg, std::span<const LogField> fields = {}) {
    LogRecord r;
    r.level = Level::Info;
    r.time = timespec{1764720000, 123456789};   // 2025-12-03T00:00:00.123Z
    r.sid = 0xa3;
    r.tag = "rcpt_ok";
    r.message = msg;
    r.fields = fields;
    return r;
}

const LogField kReject[] = {{"client_ip", "192.0.2.7"}, {"helo", "bad host"}, {"sender", "<a@b.example>"},
                            {"recipient", "<c@d.example>"}};

}  // namespace

TEST_CASE("text: fields follow the message as key=value, quoted when they hold spaces or quotes") {
    const auto r = record("reject: rcpt: [rcpt_ok] DENY 550 5.7.1 no", kReject);
    CHECK(format_text(r, true) ==
          "2025-12-03T00:00:00.123Z info 00000000000000a3 [rcpt_ok] reject: rcpt: [rcpt_ok] DENY 550 5.7.1 no "
          "client_ip=192.0.2.7 helo=\"bad host\" sender=<a@b.example> recipient=<c@d.example>");
    CHECK(format_text(r, false).rfind("info 00000000000000a3 [rcpt_ok] ", 0) == 0);
    const LogField tricky[] = {{"helo", "a\"b\\c\nd"}, {"x", ""}};
    CHECK(format_text_fields(tricky) == " helo=\"a\\\"b\\\\c?d\" x=\"\"");
}

TEST_CASE("json: one object per line with the record and its fields; nlohmann reads it back") {
    auto r = record("rcpt refused", kReject);
    r.worker = 2;
    const std::string line = format_json(r);
    CHECK(line.find('\n') == std::string::npos);
    const auto j = nlohmann::json::parse(line);
    CHECK(j["time"] == "2025-12-03T00:00:00.123Z");
    CHECK(j["level"] == "info");
    CHECK(j["session"] == "00000000000000a3");
    CHECK(j["worker"] == 2);
    CHECK(j["tag"] == "rcpt_ok");
    CHECK(j["message"] == "rcpt refused");
    CHECK(j["client_ip"] == "192.0.2.7");
    CHECK(j["helo"] == "bad host");
    CHECK(j["sender"] == "<a@b.example>");
    CHECK(j["recipient"] == "<c@d.example>");
    r.worker = -1;
    r.tag = "";
    const auto j2 = nlohmann::json::parse(format_json(r));
    CHECK_FALSE(j2.contains("worker"));
    CHECK_FALSE(j2.contains("tag"));
}

TEST_CASE("json escaping: control bytes, quotes, valid UTF-8 kept, invalid bytes become U+FFFD") {
    auto esc = [](std::string_view s) {
        std::string out;
        append_json_string(out, s);
        return out;
    };
    CHECK(esc("a\"b\\c") == "\"a\\\"b\\\\c\"");
    CHECK(esc("\r\n\t") == "\"\\r\\n\\t\"");
    CHECK(esc(std::string_view("\x00\x1b\x7f", 3)) == "\"\\u0000\\u001b\\u007f\"");
    CHECK(esc("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7") == "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7\"");
    CHECK(esc("\xff") == "\"\\ufffd\"");
    CHECK(esc("\xc3") == "\"\\ufffd\"");                       // truncated sequence
    CHECK(esc("\xc0\xaf") == "\"\\ufffd\\ufffd\"");             // overlong '/'
    CHECK(esc("\xed\xa0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");  // UTF-16 surrogate
    CHECK(esc("\xf4\x90\x80\x80") == "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");   // past U+10FFFF
    // Every byte value, alone and in pairs: the output always parses and never holds raw controls.
    for (int a = 0; a < 256; ++a) {
        for (int b = 0; b < 256; b += 17) {
            const char bytes[2] = {static_cast<char>(a), static_cast<char>(b)};
            const std::string out = esc(std::string_view(bytes, 2));
            for (unsigned char c : out) REQUIRE(c >= 0x20);
            REQUIRE(nlohmann::json::accept(out));
        }
    }
}

TEST_CASE("syslog: <facility*8+severity>, BSD timestamp, ident[pid]; json body when asked") {
    std::tm local{};
    local.tm_mon = 11;
    local.tm_mday = 3;
    local.tm_hour = 1;
    local.tm_min = 2;
    local.tm_sec = 3;
    auto r = record("hello", kReject);
    CHECK(syslog_datagram(r, LogFormat::Text, 2, "asmtpd", 42, local) ==
          "<22>Dec  3 01:02:03 asmtpd[42]: info 00000000000000a3 [rcpt_ok] hello client_ip=192.0.2.7 "
          "helo=\"bad host\" sender=<a@b.example> recipient=<c@d.example>");
    r.level = Level::Error;
    const std::string d = syslog_datagram(r, LogFormat::Json, 16, "asmtpd", 42, local);
    CHECK(d.rfind("<131>Dec  3 01:02:03 asmtpd[42]: {", 0) == 0);   // local0.err
    CHECK(nlohmann::json::parse(d.substr(d.find('{')))["client_ip"] == "192.0.2.7");
    const std::pair<Level, int> priorities[] = {{Level::Error, 3}, {Level::Warn, 4}, {Level::Notice, 5},
                                                {Level::Info, 6}, {Level::Debug, 7}};
    for (const auto& [level, n] : priorities) {
        r.level = level;
        CHECK(syslog_datagram(r, LogFormat::Text, 2, "x", 1, local).rfind("<" + std::to_string(16 + n) + ">", 0) == 0);
    }
    CHECK(facility_from_name("mail") == 2);
    CHECK(facility_from_name("LOCAL7") == 23);
    CHECK_FALSE(facility_from_name("kern"));
}

TEST_CASE("journal: MESSAGE, PRIORITY, SYSLOG_IDENTIFIER, SESSION_ID and upper-cased fields") {
    auto r = record("hello", kReject);
    r.level = Level::Warn;
    r.worker = 1;
    const auto f = journal_fields(r, LogFormat::Text, 2, "asmtpd");
    const std::vector<std::string> want{
        "MESSAGE=warn 00000000000000a3 [rcpt_ok] hello client_ip=192.0.2.7 helo=\"bad host\" sender=<a@b.example> "
        "recipient=<c@d.example>",
        "PRIORITY=4", "SYSLOG_IDENTIFIER=asmtpd", "SYSLOG_FACILITY=2", "SESSION_ID=00000000000000a3",
        "ASMTPD_WORKER=1", "ASMTPD_PLUGIN=rcpt_ok", "CLIENT_IP=192.0.2.7", "HELO=bad host",
        "SENDER=<a@b.example>", "RECIPIENT=<c@d.example>"};
    CHECK(f == want);
    r.sid = 0;
    r.worker = -1;
    r.tag = "";
    r.fields = {};
    CHECK(journal_fields(r, LogFormat::Text, 2, "asmtpd").size() == 4);
    CHECK(journal_field_name("client-ip") == "CLIENT_IP");
    CHECK(journal_field_name("_trusted") == "TRUSTED");
    CHECK(journal_field_name("") == "FIELD");
}

TEST_CASE("JOURNAL_STREAM names stderr only when device and inode both match") {
    CHECK(journal_stream_matches("8:12345", 8, 12345));
    CHECK_FALSE(journal_stream_matches("8:12345", 8, 12346));
    CHECK_FALSE(journal_stream_matches("9:12345", 8, 12345));
    CHECK_FALSE(journal_stream_matches(nullptr, 8, 12345));
    CHECK_FALSE(journal_stream_matches("", 0, 0));
    CHECK_FALSE(journal_stream_matches("8:12345x", 8, 12345));
    CHECK_FALSE(journal_stream_matches("8", 8, 0));
}

}  // namespace ASMTPD_TEST_UNIT
