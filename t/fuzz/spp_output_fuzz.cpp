// spp_output_fuzz.cpp - libFuzzer target for plugins/spp/spp_output.cpp's parsers: what a
// qmail-spp program prints on stdout (any bytes: programs are not trusted to be well formed).
// Invariants: parse_output respects every limit, drops empty lines, stops at the first
// terminator, and is a pure function of its input; a reply line that parses has a code
// 200..599; a byte cap (`truncated`) never makes a partial last line count.
// fuzz-sources: plugins/spp/spp_output.cpp plugins/spp/spp_env.cpp plugins/spp/spp_config.cpp hooks/result.cpp plugins/common/child_env.cpp
#include <cstddef>
#include <cstdint>
#include <string>

#include "plugins/spp/spp_output.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::plugins::spp;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    OutputLimits lim;
    lim.max_line = 64;   // small so the fuzzer reaches the limits
    lim.max_lines = 8;

    for (bool truncated : {false, true}) {
        ParsedOutput p = parse_output(in, truncated, lim);
        FUZZ_CHECK(p.lines.size() <= lim.max_lines);
        for (std::size_t i = 0; i < p.lines.size(); ++i) {
            const auto& l = p.lines[i];
            FUZZ_CHECK(l.arg.size() < lim.max_line);
            FUZZ_CHECK(l.arg.find('\n') == std::string::npos);
            // Only the last line may be a terminator.
            if (i + 1 < p.lines.size()) FUZZ_CHECK(!is_terminator(l.cmd));
        }
        if (p.terminated) FUZZ_CHECK(!p.lines.empty() && is_terminator(p.lines.back().cmd));
        if (p.too_large) FUZZ_CHECK(!p.terminated);
        if (truncated) FUZZ_CHECK(!p.unterminated_last);
        // Pure: the same input, the same answer.
        ParsedOutput q = parse_output(in, truncated, lim);
        FUZZ_CHECK(q.lines.size() == p.lines.size() && q.terminated == p.terminated && q.too_large == p.too_large);
    }

    // Each line as a reply line (E and R arguments).
    std::size_t start = 0;
    while (start <= in.size()) {
        std::size_t nl = in.find('\n', start);
        std::string_view line = in.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
        if (auto r = parse_reply_line(line)) {
            FUZZ_CHECK(r->code >= 200 && r->code <= 599);
            FUZZ_CHECK(r->text.size() + 3 <= line.size());
        }
        if (nl == std::string_view::npos) break;
        start = nl + 1;
    }
    return 0;
}
