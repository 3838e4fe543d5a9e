// http_response_fuzz.cpp - libFuzzer target for core/proto/http_response.cpp. The input is what a
// broken or hostile HTTP server (or whatever listens on rspamd's port) sends back.
// Invariants: a complete response has a status of 200..999 and a body no longer than the
// input; a response complete before the close is complete, identical, at the close too; every
// field has a non-empty name without ':' or white space and a value without CR or LF; an
// invalid parse always says why.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/proto/http_response.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    for (const bool eof : {false, true}) {
        HttpResponse r;
        std::string err;
        const auto p = parse_http_response(in, eof, r, err);
        if (p == HttpParse::Invalid) FUZZ_CHECK(!err.empty());
        if (p == HttpParse::Incomplete) FUZZ_CHECK(!eof);
        if (p != HttpParse::Complete) continue;
        FUZZ_CHECK(r.status >= 200 && r.status <= 999);
        FUZZ_CHECK(r.body.size() <= in.size());
        FUZZ_CHECK(r.fields.size() <= kMaxHttpFields);
        for (const auto& f : r.fields) {
            FUZZ_CHECK(!f.name.empty());
            FUZZ_CHECK(f.name.find_first_of(": \t\r\n") == std::string::npos);
            FUZZ_CHECK(f.value.find_first_of("\r\n") == std::string::npos);
        }
        if (!eof) {
            HttpResponse again;
            FUZZ_CHECK(parse_http_response(in, true, again, err) == HttpParse::Complete);
            FUZZ_CHECK(again.body == r.body && again.status == r.status);
        }
    }
    return 0;
}
