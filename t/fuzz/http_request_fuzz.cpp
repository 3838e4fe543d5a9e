// http_request_fuzz.cpp - libFuzzer target for core/proto/http_request.cpp. The input is what
// a client of the metrics endpoint sent. Invariants: a complete head never claims more bytes
// than the input or kMaxHttpRequestHead, has a non-empty method and a path that starts the
// target, and parses the same from its own bytes; an invalid one says why with 400, 431 or
// 505; incomplete input is shorter than the cap; appending bytes never changes a complete
// head's result.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/proto/http_request.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;
using S = HttpRequestParse::Status;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    const auto p = parse_http_request_head(in);
    switch (p.status) {
        case S::Invalid:
            FUZZ_CHECK(!p.error.empty());
            FUZZ_CHECK(p.error_status == 400 || p.error_status == 431 || p.error_status == 505);
            break;
        case S::Incomplete: FUZZ_CHECK(in.size() <= kMaxHttpRequestHead); break;
        case S::Complete: {
            FUZZ_CHECK(p.head.consumed <= in.size() && p.head.consumed <= kMaxHttpRequestHead);
            FUZZ_CHECK(!p.head.method.empty());
            FUZZ_CHECK(p.head.target.rfind(p.head.path, 0) == 0);
            const auto again = parse_http_request_head(in.substr(0, p.head.consumed));
            FUZZ_CHECK(again.status == S::Complete && again.head.method == p.head.method &&
                       again.head.target == p.head.target && again.head.consumed == p.head.consumed);
            const std::string more = std::string(in) + "GET / HTTP/1.1\r\n";
            const auto longer = parse_http_request_head(more);
            FUZZ_CHECK(longer.status == S::Complete && longer.head.consumed == p.head.consumed);
            break;
        }
    }
    return 0;
}
