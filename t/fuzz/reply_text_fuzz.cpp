// reply_text_fuzz.cpp - libFuzzer target for core/proto/reply.cpp's sanitize_reply_text, the
// filter every text that reaches a client goes through (plugin messages, echoed addresses).
// Invariants: no control character and only well-formed UTF-8 comes out, within the line
// limit; sanitizing twice changes nothing; a reply built from the text is well framed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/proto/reply.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const std::string out = sanitize_reply_text(in);
    FUZZ_CHECK(out.size() <= 506);
    FUZZ_CHECK(asmtpd::fuzz::printable_utf8(out));
    FUZZ_CHECK(sanitize_reply_text(out) == out);
    FUZZ_CHECK(asmtpd::fuzz::well_formed_wire(Reply::make(550, "5.7.1", std::string(in)).wire(true)));
    return 0;
}
