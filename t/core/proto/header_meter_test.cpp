// header_meter_test.cpp - the header block is measured the same whatever the chunking.
#include <doctest/doctest.h>

#include <string>

#include "core/proto/header_meter.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::proto::HeaderLimits;
using asmtpd::proto::HeaderMeter;

namespace {
HeaderMeter fed_whole(std::string_view msg, HeaderLimits l = {}) {
    HeaderMeter m(l);
    m.feed(msg);
    return m;
}
}  // namespace

TEST_CASE("header_meter: counts header lines and bytes up to the empty line") {
    std::string msg = "From: a@b\r\nSubject: x\r\n\r\nbody\r\nmore: not a header\r\n";
    HeaderMeter m;
    std::size_t used = m.feed(msg);
    CHECK(m.ended());
    CHECK(m.lines() == 2);
    CHECK(m.bytes() == 11 + 12);
    CHECK(used == 11 + 12 + 2);
    CHECK(m.feed("X: y\r\n") == 0);   // body: nothing more is counted
    CHECK(m.lines() == 2);
}

TEST_CASE("header_meter: folded lines count as lines") {
    auto m = fed_whole("Subject: a\r\n b\r\n\tc\r\n\r\n");
    CHECK(m.lines() == 3);
    CHECK(m.ended());
}

TEST_CASE("header_meter: a message without an empty line is all header") {
    auto m = fed_whole("A: 1\r\nB: 2\r\n");
    CHECK_FALSE(m.ended());
    CHECK(m.lines() == 2);
    CHECK(m.bytes() == 12);
}

TEST_CASE("header_meter: an empty first line means no header") {
    auto m = fed_whole("\r\nbody\r\n");
    CHECK(m.ended());
    CHECK(m.lines() == 0);
    CHECK(m.bytes() == 0);
}

TEST_CASE("header_meter: a line holding only a CR is not mistaken when a body line is 'x\\n'") {
    auto m = fed_whole("A: 1\r\nx\nB: 2\r\n\r\n");
    CHECK(m.lines() == 3);
    CHECK(m.ended());
}

TEST_CASE("header_meter: every split point gives the same counts") {
    std::string msg = "From: a@b\r\nSubject: long\r\n folded\r\n\r\nbody\r\n\r\nX: 1\r\n";
    auto whole = fed_whole(msg);
    for (std::size_t cut1 = 0; cut1 <= msg.size(); ++cut1) {
        for (std::size_t cut2 = cut1; cut2 <= msg.size(); ++cut2) {
            HeaderMeter m;
            m.feed(std::string_view(msg).substr(0, cut1));
            m.feed(std::string_view(msg).substr(cut1, cut2 - cut1));
            m.feed(std::string_view(msg).substr(cut2));
            REQUIRE(m.lines() == whole.lines());
            REQUIRE(m.bytes() == whole.bytes());
            REQUIRE(m.ended() == whole.ended());
        }
    }
}

TEST_CASE("header_meter: limits on bytes and on lines") {
    std::string big = "Subject: " + std::string(200, 'x') + "\r\n";
    CHECK(fed_whole(big, {.max_bytes = 100, .max_lines = 0}).too_big());
    CHECK_FALSE(fed_whole(big, {.max_bytes = 1000, .max_lines = 0}).too_big());
    std::string many;
    for (int i = 0; i < 11; ++i) many += "X: 1\r\n";
    CHECK(fed_whole(many, {.max_bytes = 0, .max_lines = 10}).too_big());
    CHECK_FALSE(fed_whole(many, {.max_bytes = 0, .max_lines = 11}).too_big());
    CHECK_FALSE(fed_whole(many, {.max_bytes = 0, .max_lines = 0}).too_big());
}

}  // namespace ASMTPD_TEST_UNIT
