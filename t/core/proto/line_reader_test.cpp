// line_reader_test.cpp - tests core/proto/line_reader.cpp: CRLF / bare LF framing, the length
// cap (exactly at, one over, far over), and that every way of splitting the input into reads
// gives the same events while the caller's buffer stays bounded.
#include "core/proto/line_reader.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::proto::LineReader;

namespace {

// Plays the session: appends each chunk to a buffer, drains events, erases what was consumed.
struct Driver {
    explicit Driver(std::size_t max) : reader(max) {}
    LineReader reader;
    std::string buf;
    std::vector<std::string> events;  // "L:<line>" or "TOOLONG"
    std::size_t peak = 0;

    void feed(std::string_view chunk) {
        buf.append(chunk);
        peak = std::max(peak, buf.size());
        while (true) {
            auto ev = reader.next(buf);
            REQUIRE(ev.consumed <= buf.size());
            if (ev.kind == LineReader::Event::Line) {
                // the view must point into the buffer, before what was consumed
                REQUIRE(ev.line.data() >= buf.data());
                REQUIRE(ev.line.data() + ev.line.size() <= buf.data() + ev.consumed);
                events.push_back("L:" + std::string(ev.line));
            } else if (ev.kind == LineReader::Event::TooLong) {
                events.push_back("TOOLONG");
            }
            buf.erase(0, ev.consumed);
            if (ev.kind == LineReader::Event::NeedMore) break;
        }
    }
};

std::vector<std::string> run_whole(std::size_t max, std::string_view in) {
    Driver d(max);
    d.feed(in);
    return d.events;
}

// Feeds `in` in every fixed chunk size and at every single split point, byte by byte too,
// and requires identical events and a bounded buffer each time.
void check_all_splits(std::size_t max, std::string_view in, const std::vector<std::string>& want) {
    CAPTURE(in);
    CHECK(run_whole(max, in) == want);
    for (std::size_t step = 1; step <= in.size(); ++step) {
        Driver d(max);
        for (std::size_t i = 0; i < in.size(); i += step) d.feed(in.substr(i, step));
        CAPTURE(step);
        CHECK(d.events == want);
        CHECK(d.peak <= max + step);
    }
    for (std::size_t cut = 0; cut <= in.size(); ++cut) {
        Driver d(max);
        d.feed(in.substr(0, cut));
        d.feed(in.substr(cut));
        CAPTURE(cut);
        CHECK(d.events == want);
    }
}

}  // namespace

TEST_CASE("LineReader: basic framing") {
    check_all_splits(512, "HELO x\r\nMAIL FROM:<a@b>\r\n", {"L:HELO x", "L:MAIL FROM:<a@b>"});
    check_all_splits(512, "NOOP\nQUIT\n", {"L:NOOP", "L:QUIT"});          // bare LF accepted
    check_all_splits(512, "\r\n\n", {"L:", "L:"});                         // empty lines
    check_all_splits(512, "A\r\r\n", {"L:A\r"});                           // only one CR stripped
    check_all_splits(512, "A\rB\r\n", {"L:A\rB"});                         // inner CR kept
    check_all_splits(512, "\r\r\n", {"L:\r"});
    check_all_splits(512, "partial", {});                                  // no LF: nothing yet
    check_all_splits(512, "one\r\npartial\r", {"L:one"});
    check_all_splits(512, std::string("a\0b\r\n", 5), {std::string("L:a\0b", 5)});
}

TEST_CASE("LineReader: NeedMore consumes nothing while a line is incomplete") {
    LineReader r(100);
    auto ev = r.next("HELO");
    CHECK(ev.kind == LineReader::Event::NeedMore);
    CHECK(ev.consumed == 0);
    ev = r.next("");
    CHECK(ev.kind == LineReader::Event::NeedMore);
    CHECK(ev.consumed == 0);
    ev = r.next("HELO x\r\nRSET");
    CHECK(ev.kind == LineReader::Event::Line);
    CHECK(ev.line == "HELO x");
    CHECK(ev.consumed == 8);
}

TEST_CASE("LineReader: the cap counts CR and LF") {
    // max 10: "12345678\r\n" is exactly 10 -> fine; 9 chars + CRLF = 11 -> too long
    check_all_splits(10, "12345678\r\n", {"L:12345678"});
    check_all_splits(10, "123456789\n", {"L:123456789"});
    check_all_splits(10, "123456789\r\n", {"TOOLONG"});
    check_all_splits(10, "1234567890\n", {"TOOLONG"});
    check_all_splits(10, "1234567890", {"TOOLONG"});   // already over without its LF
    check_all_splits(10, "123456789", {});              // could still end in LF
}

TEST_CASE("LineReader: over-long line reported once, then discarded to its LF") {
    std::string big(5000, 'x');
    check_all_splits(64, big + "\r\nQUIT\r\n", {"TOOLONG", "L:QUIT"});
    check_all_splits(64, "HELO a\r\n" + big + "\nNOOP\r\n" + big + "\r\nQUIT\r\n",
                     {"L:HELO a", "TOOLONG", "L:NOOP", "TOOLONG", "L:QUIT"});
    check_all_splits(64, big, {"TOOLONG"});
    // A CRLF split exactly at the cap: the CR was part of the too-long line
    check_all_splits(8, std::string(8, 'y') + "\r\nA\r\n", {"TOOLONG", "L:A"});
    // an over-long line that contains CRs but no LF
    check_all_splits(8, std::string(20, '\r') + "\nA\n", {"TOOLONG", "L:A"});
}

TEST_CASE("LineReader: memory stays bounded on a 10 MB line with no LF") {
    Driver d(512);
    std::string chunk(65536, 'z');
    for (int i = 0; i < 160; ++i) d.feed(chunk);
    CHECK(d.events == std::vector<std::string>{"TOOLONG"});
    CHECK(d.buf.empty());
    CHECK(d.peak <= 512 + chunk.size());
    d.feed("tail\r\nQUIT\r\n");
    CHECK(d.events == std::vector<std::string>{"TOOLONG", "L:QUIT"});
}

TEST_CASE("LineReader: set_max applies to the next line") {
    LineReader r(10);
    CHECK(r.max() == 10);
    r.set_max(2000);
    std::string line(1500, 'a');
    auto ev = r.next(line + "\r\n");
    CHECK(ev.kind == LineReader::Event::Line);
    CHECK(ev.line.size() == 1500);
    r.set_max(10);
    ev = r.next(line + "\r\n");
    CHECK(ev.kind == LineReader::Event::TooLong);
    CHECK(ev.consumed == 1502);
}

TEST_CASE("LineReader: random inputs, every split agrees with the whole") {
    // deterministic pseudo-random inputs over a small alphabet rich in CR/LF
    std::uint32_t seed = 12345;
    auto rnd = [&seed] { return seed = seed * 1103515245u + 12345u, (seed >> 16) & 0x7fff; };
    const char alphabet[] = {'\r', '\n', 'a', 'b', '\0', '.'};
    for (int iter = 0; iter < 200; ++iter) {
        std::string in;
        std::size_t len = rnd() % 40;
        for (std::size_t i = 0; i < len; ++i) in += alphabet[rnd() % 6];
        std::size_t max = 1 + rnd() % 8;
        check_all_splits(max, in, run_whole(max, in));
    }
}

}  // namespace ASMTPD_TEST_UNIT
