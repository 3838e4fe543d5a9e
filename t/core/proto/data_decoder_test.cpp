// data_decoder_test.cpp - tests core/proto/data_decoder.cpp: end-of-data, dot-unstuffing,
// bare CR/LF policies, limits, and above all SMTP smuggling: every smuggling ending, under
// both policies, at every split point, gives exactly one message ended by the real CRLF.CRLF.
// A line-based reference decoder written independently checks random inputs.
#include "core/proto/data_decoder.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::proto;
using namespace std::string_literals;

namespace {

struct Result {
    std::string out;
    std::string rest;        // input left for the command stream after the end of data
    bool done = false, bare = false, too_big = false, long_line = false;
    std::uint64_t size = 0;
    bool operator==(const Result&) const = default;
};

std::string show(const std::string& s) {
    std::string o;
    for (char c : s) {
        if (c == '\r') o += "\\r";
        else if (c == '\n') o += "\\n";
        else if (c == '\0') o += "\\0";
        else o += c;
    }
    return o;
}

doctest::String toString(const Result& r) {
    std::string s = "{out=\"" + show(r.out) + "\" rest=\"" + show(r.rest) + "\" done=" +
                    std::to_string(r.done) + " bare=" + std::to_string(r.bare) + " big=" +
                    std::to_string(r.too_big) + " long=" + std::to_string(r.long_line) +
                    " size=" + std::to_string(r.size) + "}";
    return s.c_str();
}

Result feed_chunks(const DataLimits& lim, std::string_view in, const std::vector<std::size_t>& cuts) {
    DataDecoder d(lim);
    Result r;
    std::size_t prev = 0;
    auto feed = [&](std::string_view chunk) {
        if (d.done()) {
            CHECK(d.feed(chunk, r.out) == 0);
            r.rest.append(chunk);
            return;
        }
        std::size_t n = d.feed(chunk, r.out);
        REQUIRE(n <= chunk.size());
        if (!d.done()) REQUIRE(n == chunk.size());   // everything is consumed until the end
        r.rest.append(chunk.substr(n));
    };
    for (std::size_t c : cuts) {
        feed(in.substr(prev, c - prev));
        prev = c;
    }
    feed(in.substr(prev));
    r.done = d.done();
    r.bare = d.bare_line_ending();
    r.too_big = d.too_big();
    r.long_line = d.line_too_long();
    r.size = d.size();
    return r;
}

Result decode(const DataLimits& lim, std::string_view in) { return feed_chunks(lim, in, {}); }

// Every fixed chunk size, every single cut, and every pair of cuts for short inputs.
void check_all_splits(const DataLimits& lim, std::string_view in, const Result& want) {
    CAPTURE(show(std::string(in)));
    REQUIRE(decode(lim, in) == want);
    for (std::size_t step = 1; step <= in.size(); ++step) {
        std::vector<std::size_t> cuts;
        for (std::size_t c = step; c < in.size(); c += step) cuts.push_back(c);
        CAPTURE(step);
        CHECK(feed_chunks(lim, in, cuts) == want);
    }
    for (std::size_t a = 0; a <= in.size(); ++a) {
        CHECK(feed_chunks(lim, in, {a}) == want);
        if (in.size() <= 48) {
            for (std::size_t b = a; b <= in.size(); ++b) CHECK(feed_chunks(lim, in, {a, b}) == want);
        }
    }
}

DataLimits limits(BareLfPolicy p, std::uint64_t max_bytes = 26214400, std::size_t max_line = 0) {
    DataLimits l;
    l.bare_lf = p;
    l.max_bytes = max_bytes;
    l.max_line = max_line;
    return l;
}

// Independent line-based reference: find the first ".\r\n" at a hard line start (input start
// or after a real CRLF), split what precedes into lines ending in CRLF or bare LF, unstuff.
Result reference(const DataLimits& lim, std::string_view in) {
    Result r;
    std::size_t end = std::string_view::npos;
    for (std::size_t p = 0; p + 3 <= in.size(); ++p) {
        bool hard = p == 0 || (p >= 2 && in[p - 2] == '\r' && in[p - 1] == '\n');
        if (hard && in.substr(p, 3) == ".\r\n") {
            end = p;
            break;
        }
    }
    REQUIRE(end != std::string_view::npos);  // the generator always appends a real end
    r.done = true;
    r.rest = std::string(in.substr(end + 3));
    std::string_view body = in.substr(0, end);
    std::string content;
    std::size_t start = 0;
    while (start < body.size()) {
        auto lf = body.find('\n', start);
        REQUIRE(lf != std::string_view::npos);  // the body always ends in CRLF
        bool crlf = lf > start && body[lf - 1] == '\r';
        std::string_view text = body.substr(start, (crlf ? lf - 1 : lf) - start);
        if (!text.empty() && text.front() == '.') text.remove_prefix(1);
        for (std::size_t k = 0; k < text.size(); ++k) {
            if (text[k] == '\r') r.bare = true;  // a CR inside a line is never followed by LF
        }
        std::string line(text);
        if (crlf) {
            line += "\r\n";
        } else {
            r.bare = true;
            line += lim.bare_lf == BareLfPolicy::Normalize ? "\r\n" : "\n";
        }
        if (lim.max_line != 0 && line.size() > lim.max_line) r.long_line = true;
        content += line;
        start = lf + 1;
    }
    r.size = content.size();
    r.too_big = r.size > lim.max_bytes;
    r.out = content.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(lim.max_bytes, content.size())));
    return r;
}

Result expect(std::string out, std::string rest, bool bare) {
    Result r;
    r.size = out.size();
    r.out = std::move(out);
    r.rest = std::move(rest);
    r.done = true;
    r.bare = bare;
    return r;
}

}  // namespace

TEST_CASE("DataDecoder: end of data and dot-unstuffing") {
    for (auto p : {BareLfPolicy::Reject, BareLfPolicy::Normalize}) {
        auto lim = limits(p);
        check_all_splits(lim, ".\r\n", expect("", "", false));                 // empty message
        check_all_splits(lim, ".\r\nQUIT\r\n", expect("", "QUIT\r\n", false));
        check_all_splits(lim, "Hello\r\n.\r\n", expect("Hello\r\n", "", false));
        check_all_splits(lim, "a\r\nb\r\n\r\n.\r\nRSET\r\n", expect("a\r\nb\r\n\r\n", "RSET\r\n", false));
        check_all_splits(lim, "..\r\n.\r\n", expect(".\r\n", "", false));
        check_all_splits(lim, "..foo\r\n...\r\n.\r\n", expect(".foo\r\n..\r\n", "", false));
        check_all_splits(lim, ".foo\r\n. \r\n.\r\n", expect("foo\r\n \r\n", "", false));
        check_all_splits(lim, "a.\r\n.a\r\n.\r\n", expect("a.\r\na\r\n", "", false));
        check_all_splits(lim, "\r\n.\r\n", expect("\r\n", "", false));
        check_all_splits(lim, "x\r\n.\r\n.\r\n", expect("x\r\n", ".\r\n", false));   // first end wins
        check_all_splits(lim, std::string("a\0b\r\n.\r\n", 8), expect(std::string("a\0b\r\n", 5), "", false));
        check_all_splits(lim, "\xc3\xa9\xff\r\n.\r\n", expect("\xc3\xa9\xff\r\n", "", false));
    }
}

TEST_CASE("DataDecoder: incomplete data is not done") {
    auto lim = limits(BareLfPolicy::Reject);
    for (const char* in : {"", "a", "a\r", "a\r\n", "a\r\n.", "a\r\n.\r", ".", ".\r", "a\r\n..\r\n"}) {
        CAPTURE(in);
        auto r = decode(lim, in);
        CHECK_FALSE(r.done);
        CHECK(r.rest.empty());
    }
    DataDecoder d(lim);
    std::string out;
    CHECK(d.feed("abc\r\n.", out) == 6);
    CHECK(out == "abc\r\n");
    CHECK(d.feed("\r", out) == 1);
    CHECK_FALSE(d.done());
    CHECK(d.feed("\nMAIL", out) == 1);
    CHECK(d.done());
    CHECK(d.feed("MAIL", out) == 0);
    CHECK(out == "abc\r\n");
}

TEST_CASE("DataDecoder: bare LF and bare CR") {
    auto rej = limits(BareLfPolicy::Reject);
    auto norm = limits(BareLfPolicy::Normalize);
    check_all_splits(rej, "a\nb\r\n.\r\n", expect("a\nb\r\n", "", true));
    check_all_splits(norm, "a\nb\r\n.\r\n", expect("a\r\nb\r\n", "", true));
    check_all_splits(rej, "a\rb\r\n.\r\n", expect("a\rb\r\n", "", true));
    check_all_splits(norm, "a\rb\r\n.\r\n", expect("a\rb\r\n", "", true));   // bare CR passes
    check_all_splits(norm, "\r\r\n.\r\n", expect("\r\r\n", "", true));
    check_all_splits(norm, "\n\n.\r\n.\r\n", expect("\r\n\r\n\r\n", "", true));
    // after a bare LF a dot line is unstuffed but never an end
    check_all_splits(norm, "a\n.\r\nb\r\n.\r\n", expect("a\r\n\r\nb\r\n", "", true));
    check_all_splits(norm, "a\n..x\r\n.\r\n", expect("a\r\n.x\r\n", "", true));
    // a line ending in a bare CR right before the dot is not a line end either
    check_all_splits(norm, "a\r.\r\n.\r\n", expect("a\r.\r\n", "", true));
    // ".\r" followed by anything but LF is a stuffed line holding a bare CR
    check_all_splits(norm, ".\rx\r\n.\r\n", expect("\rx\r\n", "", true));
    check_all_splits(norm, ".\r\r\n.\r\n", expect("\r\r\n", "", true));
    check_all_splits(norm, ".\n.\r\n.\r\n", expect("\r\n\r\n", "", true));
}

TEST_CASE("DataDecoder: SMTP smuggling endings never end the message") {
    const std::vector<std::string> endings = {
        "\n.\n", "\n.\r\n", "\r\n.\n", "\r.\r", "\r.\r\n", "\r\n.\r", "\r\n\0.\r\n"s,
        "\r\n.\0\r\n"s, "\n\n.\n\n", "\r\r.\r\r", "\n.\r", "\r.\n", "\n\r.\r\n", "\r\n\r.\r\n",
    };
    const std::string smuggled = "MAIL FROM:<spoof@bank.example>\r\nRCPT TO:<victim@x.example>\r\n"
                                 "DATA\r\nFrom: spoof\r\n\r\nevil\r\n";
    for (const auto& ending : endings) {
        for (auto p : {BareLfPolicy::Reject, BareLfPolicy::Normalize}) {
            CAPTURE(show(ending));
            auto lim = limits(p);
            std::string in = "Subject: hi\r\n\r\nbody" + ending + smuggled + ".\r\nQUIT\r\n";
            auto whole = decode(lim, in);
            CHECK(whole.done);
            CHECK(whole.rest == "QUIT\r\n");                  // one message, ended by the real end
            CHECK(whole.out.find("MAIL FROM:<spoof@bank.example>") != std::string::npos);
            CHECK(whole.out.size() >= smuggled.size());
            const bool has_bare = ending.find('\0') == std::string::npos;
            CHECK(whole.bare == has_bare);
            CHECK(whole == reference(lim, in));
            check_all_splits(lim, in, whole);
        }
    }
}

TEST_CASE("DataDecoder: size limit stops output but not counting or scanning") {
    std::string body = "0123456789\r\n";   // 12 octets
    auto r = decode(limits(BareLfPolicy::Reject, 5), body + ".\r\nNEXT");
    CHECK(r.done);
    CHECK(r.out == "01234");
    CHECK(r.too_big);
    CHECK(r.size == 12);
    CHECK(r.rest == "NEXT");
    check_all_splits(limits(BareLfPolicy::Reject, 5), body + ".\r\nNEXT", r);

    auto exact = decode(limits(BareLfPolicy::Reject, 12), body + ".\r\n");
    CHECK_FALSE(exact.too_big);
    CHECK(exact.out == body);
    auto over = decode(limits(BareLfPolicy::Reject, 11), body + ".\r\n");
    CHECK(over.too_big);
    CHECK(over.out == body.substr(0, 11));

    auto zero = decode(limits(BareLfPolicy::Reject, 0), ".\r\n");
    CHECK_FALSE(zero.too_big);
    auto zero1 = decode(limits(BareLfPolicy::Reject, 0), "x\r\n.\r\n");
    CHECK(zero1.too_big);
    CHECK(zero1.out.empty());
    CHECK(zero1.size == 3);

    // a large message far over the limit, fed in 4 KiB reads: output capped, end still found
    DataDecoder d(limits(BareLfPolicy::Reject, 1000));
    std::string out, line(998, 'x');
    line += "\r\n";
    std::uint64_t total = 0;
    for (int i = 0; i < 2000; ++i) {
        CHECK(d.feed(line, out) == line.size());
        total += line.size();
    }
    CHECK(out.size() == 1000);
    CHECK(d.too_big());
    CHECK(d.size() == total);
    CHECK_FALSE(d.done());
    CHECK(d.feed(".\r\nQUIT\r\n", out) == 3);
    CHECK(d.done());
}

TEST_CASE("DataDecoder: line length limit counts decoded octets with CRLF") {
    auto lim = limits(BareLfPolicy::Reject, 26214400, 10);
    CHECK_FALSE(decode(lim, "12345678\r\n.\r\n").long_line);          // 10
    CHECK(decode(lim, "123456789\r\n.\r\n").long_line);               // 11
    CHECK_FALSE(decode(lim, ".12345678\r\n.\r\n").long_line);         // the stuffing dot is free
    CHECK(decode(lim, "12345678901234567890").long_line);             // detected before the end
    CHECK_FALSE(decode(lim, "1234567\r\n1234567\r\n.\r\n").long_line); // per line, not total
    CHECK(decode(lim, "123456789\r\r\n.\r\n").long_line);             // bare CR counts
    auto r = decode(lim, "123456789012\r\n.\r\nX");
    CHECK(r.long_line);
    CHECK(r.done);
    CHECK(r.out == "123456789012\r\n");     // content kept; the session decides
    check_all_splits(lim, "123456789012\r\n.\r\nX", r);
    CHECK_FALSE(decode(limits(BareLfPolicy::Reject, 100, 0), std::string(5000, 'y') + "\r\n.\r\n").long_line);
}

TEST_CASE("DataDecoder: random inputs match the reference at every split") {
    std::uint32_t seed = 4242;
    auto rnd = [&seed] { return seed = seed * 1664525u + 1013904223u, seed >> 8; };
    const char alphabet[] = {'\r', '\n', '.', 'a', '\0', '\r', '\n', '.'};
    int checked = 0;
    for (int iter = 0; iter < 1500; ++iter) {
        std::string in;
        std::size_t len = rnd() % 24;
        for (std::size_t i = 0; i < len; ++i) in += alphabet[rnd() % 8];
        in += "\r\n.\r\n";
        if (rnd() % 2) in += "tail";
        auto lim = limits(rnd() % 2 ? BareLfPolicy::Reject : BareLfPolicy::Normalize,
                          rnd() % 3 ? 1000 : rnd() % 12, rnd() % 3 ? 0 : 1 + rnd() % 6);
        auto want = reference(lim, in);
        CAPTURE(show(in));
        REQUIRE(decode(lim, in) == want);
        if (iter % 5 == 0) {
            check_all_splits(lim, in, want);
        } else {
            for (std::size_t a = 0; a <= in.size(); ++a) CHECK(feed_chunks(lim, in, {a}) == want);
        }
        ++checked;
    }
    CHECK(checked == 1500);
}

TEST_CASE("BDAT raw mode: no end of data, no unstuffing, bare line ends by policy") {
    DataLimits lim;
    lim.dot_stuffed = false;
    DataDecoder d(lim);
    std::string out;
    const std::string_view in = "..a\r\n.\r\nb\r\n.\r\n";
    CHECK(d.feed(in, out) == in.size());
    CHECK(!d.done());
    CHECK(out == in);
    CHECK(!d.bare_line_ending());
    // A CR at the end of a chunk is held until the next chunk says what it is.
    out.clear();
    d.feed("x\r", out);
    CHECK(out == "x");
    d.feed("\ny", out);
    CHECK(out == "x\r\ny");
    d.feed("\r", out);
    d.end_chunks(out);
    CHECK(d.done());
    CHECK(d.bare_line_ending());   // the final CR was bare
    CHECK(out == "x\r\ny\r");

    DataLimits norm;
    norm.dot_stuffed = false;
    norm.bare_lf = BareLfPolicy::Normalize;
    DataDecoder n(norm);
    std::string o2;
    n.feed("a\nb\r\n", o2);
    n.end_chunks(o2);
    CHECK(o2 == "a\r\nb\r\n");
    CHECK(n.bare_line_ending());
}

}  // namespace ASMTPD_TEST_UNIT
