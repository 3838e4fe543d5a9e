// rspamd_reply_fuzz.cpp - libFuzzer target for core/proto/rspamd_protocol.cpp. The input is the
// JSON body a broken or hostile rspamd sends back; its first line, when it has one, also
// becomes request field values (what a client's HELO or addresses could hold).
// Invariants: nothing throws; a parsed reply has finite scores, non-empty symbol names (at most
// kMaxRspamdSymbols), milter header names that are field-names; the bar is never longer than
// kMaxBar units; the request head has exactly one empty line (its end) and no bare CR or LF.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/proto/header_block.hpp"
#include "core/proto/rspamd_protocol.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    std::string err;
    if (auto r = parse_rspamd_reply(in, err)) {
        FUZZ_CHECK(std::isfinite(r->score) && std::isfinite(r->required_score));
        FUZZ_CHECK(r->symbols.size() <= kMaxRspamdSymbols);
        for (const auto& s : r->symbols) FUZZ_CHECK(!s.name.empty() && std::isfinite(s.score));
        for (const auto& h : r->add_headers) FUZZ_CHECK(valid_field_name(h.name));
        for (const auto& h : r->remove_headers) FUZZ_CHECK(valid_field_name(h.name));
        FUZZ_CHECK(rspamd_bar(r->score, "+", "-", "/").size() <= static_cast<std::size_t>(kMaxBar));
        (void)rspamd_report(r->symbols);
        (void)rspamd_note(*r);
    } else {
        FUZZ_CHECK(!err.empty());
    }
    RspamdRequest req;
    const std::string line(in.substr(0, in.find('\n')));
    req.host = line;
    req.fields = {{"Helo", line}, {"Rcpt", std::string(in)}, {line, "x"}};
    const auto head = rspamd_request_head(req);
    FUZZ_CHECK(head.ends_with("\r\n\r\n"));
    FUZZ_CHECK(head.find("\r\n\r\n") == head.size() - 4);
    for (std::size_t i = 0; i < head.size(); ++i) {
        if (head[i] == '\n') FUZZ_CHECK(i > 0 && head[i - 1] == '\r');
        if (head[i] == '\r') FUZZ_CHECK(i + 1 < head.size() && head[i + 1] == '\n');
    }
    return 0;
}
