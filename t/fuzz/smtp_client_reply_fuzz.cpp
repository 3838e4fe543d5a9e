// smtp_client_reply_fuzz.cpp - libFuzzer target for core/proto/smtp_client_reply.cpp, the
// parser of a next hop's replies. The input is what a hostile or broken server sends.
// Invariants: every Complete reply has a code 200..559 and no line over the limits; Malformed
// is sticky; the same bytes fed in one piece or split at any point give the same replies.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/proto/smtp_client_reply.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

namespace {

struct Outcome {
    std::vector<std::string> replies;   // "code esc|line|line"
    bool malformed = false;
};

std::string describe(const Reply& r) {
    std::string s = std::to_string(r.code) + " " + r.esc;
    for (const auto& l : r.lines) s += "|" + l;
    return s;
}

Outcome drain(ClientReplyParser& p, Outcome& o, const ClientReplyLimits& lim) {
    for (;;) {
        auto e = p.next();
        if (e.status == ClientReplyParser::Status::NeedMore) break;
        if (e.status == ClientReplyParser::Status::Malformed) {
            FUZZ_CHECK(!e.error.empty());
            FUZZ_CHECK(p.malformed());
            o.malformed = true;
            // Sticky: asking again still says Malformed.
            FUZZ_CHECK(p.next().status == ClientReplyParser::Status::Malformed);
            break;
        }
        FUZZ_CHECK(e.reply.code >= 200 && e.reply.code <= 559);
        FUZZ_CHECK(!e.reply.lines.empty() && e.reply.lines.size() <= lim.max_lines);
        for (const auto& l : e.reply.lines) FUZZ_CHECK(l.size() <= lim.max_line);
        o.replies.push_back(describe(e.reply));
    }
    return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    ClientReplyLimits lim;
    lim.max_line = 128;   // small limits so the fuzzer reaches them
    lim.max_lines = 8;
    lim.max_bytes = 512;

    ClientReplyParser whole(lim);
    Outcome a;
    whole.feed(in);
    drain(whole, a, lim);

    // The same bytes one at a time, draining after each: the same replies, the same end.
    ClientReplyParser bytewise(lim);
    Outcome b;
    for (char c : in) {
        bytewise.feed(std::string_view(&c, 1));
        drain(bytewise, b, lim);
        if (b.malformed) break;
    }
    FUZZ_CHECK(a.malformed == b.malformed);
    FUZZ_CHECK(a.replies == b.replies);
    if (!a.malformed) FUZZ_CHECK(whole.buffered() == bytewise.buffered());
    return 0;
}
