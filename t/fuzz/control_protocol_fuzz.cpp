// control_protocol_fuzz.cpp - libFuzzer target for core/proto/control_protocol.cpp. The input is
// what a client sent to the control socket, and (the same bytes) what asmtpd-ctl read back as a
// reply. Invariants: a complete request consumed a whole line of at most kMaxControlLine bytes
// ending in LF and parses the same from that line alone; an invalid one says why, and consumed
// 0 only when no LF came within the cap; incomplete input is shorter than the cap. A reply line
// written by control_ok_reply/control_error_reply (whatever the error text) reads back.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/proto/control_protocol.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;
using S = ControlRequestParse::Status;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    const auto p = parse_control_request(in);
    switch (p.status) {
        case S::Incomplete: FUZZ_CHECK(in.size() < kMaxControlLine && in.find('\n') == std::string_view::npos); break;
        case S::Invalid:
            FUZZ_CHECK(!p.error.empty());
            FUZZ_CHECK(p.consumed <= kMaxControlLine && p.consumed <= in.size());
            if (p.consumed == 0) FUZZ_CHECK(in.size() >= kMaxControlLine);
            else FUZZ_CHECK(in[p.consumed - 1] == '\n');
            break;
        case S::Complete: {
            FUZZ_CHECK(p.consumed > 0 && p.consumed <= kMaxControlLine && in[p.consumed - 1] == '\n');
            const auto again = parse_control_request(in.substr(0, p.consumed));
            FUZZ_CHECK(again.status == S::Complete && again.verb == p.verb && again.consumed == p.consumed);
            break;
        }
    }
    if (const auto r = parse_control_reply(in)) FUZZ_CHECK(r->body.is_object() && r->body["ok"].is_boolean());
    const auto back = parse_control_reply(control_error_reply(in));
    FUZZ_CHECK(back && !back->ok);
    return 0;
}
