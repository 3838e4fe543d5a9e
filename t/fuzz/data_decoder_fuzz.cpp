// data_decoder_fuzz.cpp - libFuzzer target for core/proto/data_decoder.cpp.
// The first 3 bytes pick the policy, max_bytes, max_line and a split point; the rest is the
// DATA stream. The same input is decoded whole, split at the chosen byte boundary, split at
// every 7th byte and byte by byte: all four must agree exactly. The end of data must be the
// first ".\r\n" at a hard line start (input start or right after a real CRLF) - the SMTP
// smuggling property - and nothing may be appended past max_bytes.
#include <cstddef>
#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "core/proto/data_decoder.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

namespace {

struct Result {
    std::string out;
    std::size_t consumed = 0;
    bool done = false, bare = false, big = false, longl = false;
    std::uint64_t size = 0;
    bool operator==(const Result&) const = default;
};

Result run(const DataLimits& lim, std::string_view in, const std::vector<std::size_t>& cuts) {
    DataDecoder d(lim);
    Result r;
    std::size_t prev = 0;
    auto feed = [&](std::string_view chunk) {
        if (d.done()) {
            FUZZ_CHECK(d.feed(chunk, r.out) == 0);
            return;
        }
        std::size_t n = d.feed(chunk, r.out);
        FUZZ_CHECK(n <= chunk.size());
        if (!d.done()) FUZZ_CHECK(n == chunk.size());
        r.consumed += n;
    };
    for (std::size_t c : cuts) {
        feed(in.substr(prev, c - prev));
        prev = c;
    }
    feed(in.substr(prev));
    r.done = d.done();
    r.bare = d.bare_line_ending();
    r.big = d.too_big();
    r.longl = d.line_too_long();
    r.size = d.size();
    return r;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 3) return 0;
    DataLimits lim;
    lim.bare_lf = (data[0] & 1) ? BareLfPolicy::Normalize : BareLfPolicy::Reject;
    lim.max_bytes = (data[0] & 2) ? 26214400 : (data[0] >> 2);
    lim.max_line = data[1] % 5 == 0 ? 0 : data[1] % 64;
    std::string_view in(reinterpret_cast<const char*>(data + 3), size - 3);
    const std::size_t cut = in.empty() ? 0 : data[2] % (in.size() + 1);

    Result whole = run(lim, in, {});
    FUZZ_CHECK(run(lim, in, {cut}) == whole);
    std::vector<std::size_t> every7, every1;
    for (std::size_t i = 7; i < in.size(); i += 7) every7.push_back(i);
    for (std::size_t i = 1; i < in.size(); ++i) every1.push_back(i);
    FUZZ_CHECK(run(lim, in, every7) == whole);
    FUZZ_CHECK(run(lim, in, every1) == whole);

    // The end of data is exactly the first ".\r\n" at a hard line start.
    std::size_t end = std::string_view::npos;
    for (std::size_t p = 0; p + 3 <= in.size(); ++p) {
        const bool hard = p == 0 || (p >= 2 && in[p - 2] == '\r' && in[p - 1] == '\n');
        if (hard && in.substr(p, 3) == ".\r\n") {
            end = p;
            break;
        }
    }
    FUZZ_CHECK(whole.done == (end != std::string_view::npos));
    FUZZ_CHECK(whole.consumed == (whole.done ? end + 3 : in.size()));

    // Output is the first max_bytes octets of the content; content never grows from input
    // except by one CR per bare LF in Normalize mode.
    FUZZ_CHECK(whole.big == (whole.size > lim.max_bytes));
    FUZZ_CHECK(whole.out.size() == (whole.big ? lim.max_bytes : whole.size));
    if (lim.bare_lf == BareLfPolicy::Reject) FUZZ_CHECK(whole.size <= whole.consumed);
    if (!whole.bare) {
        // without bare line endings every LF in the output follows a CR
        for (std::size_t i = 0; i < whole.out.size(); ++i) {
            if (whole.out[i] == '\n') FUZZ_CHECK(i > 0 && whole.out[i - 1] == '\r');
        }
    }
    if (lim.bare_lf == BareLfPolicy::Normalize) {
        for (std::size_t i = 0; i < whole.out.size(); ++i) {
            if (whole.out[i] == '\n') FUZZ_CHECK(i > 0 && whole.out[i - 1] == '\r');
        }
    }

    // BDAT (raw mode): nothing ends the data but end_chunks(), every octet is consumed, no dot
    // is removed, and with the Reject policy the output is the input itself (within max_bytes).
    // The chunking (here: the same four ways) never changes the result.
    DataLimits raw = lim;
    raw.dot_stuffed = false;
    auto raw_run = [&](const std::vector<std::size_t>& cuts) {
        Result r = run(raw, in, cuts);
        FUZZ_CHECK(!r.done);
        FUZZ_CHECK(r.consumed == in.size());
        return r;
    };
    Result raw_whole = raw_run({});
    FUZZ_CHECK(raw_run({cut}) == raw_whole);
    FUZZ_CHECK(raw_run(every7) == raw_whole);
    FUZZ_CHECK(raw_run(every1) == raw_whole);
    DataDecoder last(raw);
    std::string out;
    last.feed(in, out);
    last.end_chunks(out);
    FUZZ_CHECK(last.done());
    if (raw.bare_lf == BareLfPolicy::Reject) {
        FUZZ_CHECK(last.size() == in.size());
        FUZZ_CHECK(out == in.substr(0, static_cast<std::size_t>(std::min<std::uint64_t>(raw.max_bytes, in.size()))));
    }
    const bool bare_in_input = [&] {
        for (std::size_t i = 0; i < in.size(); ++i) {
            if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r')) return true;
            if (in[i] == '\r' && (i + 1 == in.size() || in[i + 1] != '\n')) return true;
        }
        return false;
    }();
    FUZZ_CHECK(last.bare_line_ending() == bare_in_input);
    return 0;
}
