// clamd_reply_fuzz.cpp - libFuzzer target for core/proto/clamd_reply.cpp. The input is what a
// broken or hostile clamd (or whatever listens on its socket) sends back.
// Invariants: Clean only for exactly "[N: ]stream: OK" with one optional terminator; a Found
// name is 1..kMaxVirusName printable ASCII octets without a space (it goes into an SMTP reply);
// Error and Malformed always carry a text without control characters.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/proto/clamd_reply.hpp"
#include "core/proto/text.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    const auto r = parse_clamd_reply(in);
    switch (r.kind) {
    case ClamdReply::Kind::Clean: {
        FUZZ_CHECK(r.text.empty());
        FUZZ_CHECK(in.find("stream: OK") != std::string_view::npos);
        FUZZ_CHECK(in.size() <= 32);   // "NNN...: stream: OK\r\n": nothing else may hide in it
        break;
    }
    case ClamdReply::Kind::Found:
        FUZZ_CHECK(!r.text.empty() && r.text.size() <= kMaxVirusName);
        for (char c : r.text) FUZZ_CHECK(!is_ctl(c) && !is_8bit(c) && c != ' ');
        break;
    case ClamdReply::Kind::Error:
    case ClamdReply::Kind::Malformed:
        FUZZ_CHECK(!r.text.empty());
        FUZZ_CHECK(!asmtpd::fuzz::has_ctl(r.text));
        break;
    }
    return 0;
}
