// line_reader_fuzz.cpp - libFuzzer target for core/proto/line_reader.cpp.
// The first 2 bytes pick the line cap and a split size; the stream is fed whole, in chunks
// of that size and byte by byte, the way a session buffers reads. All must give the same
// events; every line must fit the cap and hold no LF; the buffer must stay bounded.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/proto/line_reader.hpp"
#include "t/fuzz/fuzz_check.hpp"

using asmtpd::proto::LineReader;

namespace {

std::vector<std::string> run(std::size_t max, std::string_view in, std::size_t step) {
    LineReader r(max);
    std::string buf;
    std::vector<std::string> events;
    for (std::size_t i = 0; i < in.size(); i += step) {
        buf.append(in.substr(i, step));
        FUZZ_CHECK(buf.size() < max + step);   // the caller never holds more than a line + a read
        while (true) {
            auto ev = r.next(buf);
            FUZZ_CHECK(ev.consumed <= buf.size());
            if (ev.kind == LineReader::Event::Line) {
                FUZZ_CHECK(ev.line.find('\n') == std::string_view::npos);
                FUZZ_CHECK(ev.line.size() + 1 <= max);
                FUZZ_CHECK(ev.consumed >= ev.line.size() + 1);
                events.push_back("L" + std::string(ev.line));
            } else if (ev.kind == LineReader::Event::TooLong) {
                FUZZ_CHECK(ev.consumed > 0);
                events.emplace_back("T");
            }
            buf.erase(0, ev.consumed);
            if (ev.kind == LineReader::Event::NeedMore) break;
        }
    }
    return events;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) return 0;
    const std::size_t max = 1 + data[0] % 80;
    const std::size_t step = 1 + data[1] % 16;
    std::string_view in(reinterpret_cast<const char*>(data + 2), size - 2);
    auto whole = run(max, in, in.size() + 1);
    FUZZ_CHECK(run(max, in, step) == whole);
    FUZZ_CHECK(run(max, in, 1) == whole);
    // one event per LF at most, plus one TooLong for an unterminated tail
    std::size_t lfs = 0;
    for (char c : in) lfs += c == '\n';
    FUZZ_CHECK(whole.size() <= lfs + 1);
    return 0;
}
