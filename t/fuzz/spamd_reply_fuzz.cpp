// spamd_reply_fuzz.cpp - libFuzzer target for core/proto/spamd_reply.cpp. The input is what a
// broken or hostile spamd (or whatever listens on its port) sends back.
// Invariants: a parsed reply has an SPAMD/x.y version, an EX_OK reply always has a verdict whose
// numbers are finite and whose texts parse again to the same values, the body never exceeds
// the input; the X-Spam-* fields have names starting "X-Spam-" without ':' or line ends, and
// values whose line ends are always followed by white space (folding, so a field can be written
// back as it is); parse_spam_status never throws and never yields an empty or "none" test.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/proto/spamd_reply.hpp"
#include "core/proto/text.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string err;
    if (auto r = parse_spamd_reply(in, err)) {
        FUZZ_CHECK(!r->version.empty());
        FUZZ_CHECK(r->body.size() <= in.size());
        if (r->ok()) {
            FUZZ_CHECK(r->has_verdict);
            FUZZ_CHECK(std::isfinite(r->score) && std::isfinite(r->threshold));
            FUZZ_CHECK(parse_spam_score(r->score_text) == r->score);
            FUZZ_CHECK(parse_spam_score(r->threshold_text) == r->threshold);
        }
    } else {
        FUZZ_CHECK(!err.empty());
    }
    for (const auto& f : spam_header_fields(in)) {
        FUZZ_CHECK(istarts_with(f.name, "x-spam-") && f.name.size() > 7);
        FUZZ_CHECK(f.name.find(':') == std::string::npos);
        FUZZ_CHECK(f.name.find_first_of("\r\n") == std::string::npos);
        for (std::size_t i = f.value.find('\n'); i != std::string::npos; i = f.value.find('\n', i + 1)) {
            FUZZ_CHECK(i > 0 && f.value[i - 1] == '\r');
            FUZZ_CHECK(i + 1 < f.value.size() && (f.value[i + 1] == ' ' || f.value[i + 1] == '\t'));
        }
        auto st = parse_spam_status(f.value);
        for (const auto& t : st.tests) FUZZ_CHECK(!t.empty() && !iequals(t, "none"));
    }
    auto st = parse_spam_status(in);
    for (const auto& t : st.tests) FUZZ_CHECK(!t.empty() && t.find(',') == std::string::npos);
    return 0;
}
