// clamd_reply_test.cpp - tests core/proto/clamd_reply.cpp: clamd 1.4's INSTREAM answers
// (clean, found, size-limit and scan errors), IDSESSION ids, both terminators, and replies that
// must not be believed (unknown words, control bytes, names that could break a reply).
#include "core/proto/clamd_reply.hpp"

#include <doctest/doctest.h>

#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;
using Kind = ClamdReply::Kind;

TEST_CASE("clamd: clean and found, with NUL or LF, with an IDSESSION id") {
    using namespace std::string_literals;
    auto r = parse_clamd_reply("stream: OK\0"s);
    CHECK(r.kind == Kind::Clean);
    r = parse_clamd_reply("stream: Asmtpd.Test.Virus.UNOFFICIAL FOUND\0"s);
    CHECK(r.kind == Kind::Found);
    CHECK(r.text == "Asmtpd.Test.Virus.UNOFFICIAL");
    r = parse_clamd_reply("stream: Eicar-Test-Signature FOUND\n");
    CHECK(r.kind == Kind::Found);
    CHECK(r.text == "Eicar-Test-Signature");
    r = parse_clamd_reply("3: stream: OK\n");
    CHECK(r.kind == Kind::Clean);
}

TEST_CASE("clamd: errors keep clamd's text") {
    using namespace std::string_literals;
    auto r = parse_clamd_reply("INSTREAM size limit exceeded. ERROR\0"s);
    CHECK(r.kind == Kind::Error);
    CHECK(r.text == "INSTREAM size limit exceeded.");
    r = parse_clamd_reply("stream: Can't allocate memory ERROR\n");
    CHECK(r.kind == Kind::Error);
    CHECK(r.text == "Can't allocate memory");
}

TEST_CASE("clamd: anything else is malformed, never clean") {
    using namespace std::string_literals;
    for (std::string in : {""s, "\0"s, "OK"s, "stream: ok\n"s, "stream: OK extra\n"s, "stream:  FOUND\n"s,
                           "stream: two words FOUND\n"s, "stream: Bad\x01Name FOUND\n"s, "stream: Bad\xc3\xa9 FOUND\n"s,
                           "stream: OK\0\0"s, " ERROR"s, "PONG\0"s}) {
        CAPTURE(in);
        CHECK(parse_clamd_reply(in).kind == Kind::Malformed);
    }
    CHECK(parse_clamd_reply("stream: " + std::string(kMaxVirusName + 1, 'A') + " FOUND\n").kind == Kind::Malformed);
    CHECK(parse_clamd_reply("stream: " + std::string(kMaxVirusName, 'A') + " FOUND\n").kind == Kind::Found);
    CHECK(parse_clamd_reply(std::string(5000, 'x')).kind == Kind::Malformed);
}

}  // namespace ASMTPD_TEST_UNIT
