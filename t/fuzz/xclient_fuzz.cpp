// xclient_fuzz.cpp - libFuzzer target for core/proto/xclient.cpp (XCLIENT arguments come
// from the network). Invariants: no crash; on success every attribute is a known upper-case
// name and every value is printable ASCII without spaces (so it can go into a log line, a
// Received header or an environment variable); an error is short and has no control character.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/proto/xclient.hpp"
#include "t/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    auto p = asmtpd::proto::parse_xclient(in);
    if (!p.error.empty()) {
        FUZZ_CHECK(!asmtpd::fuzz::has_ctl(p.error));
        FUZZ_CHECK(p.error.size() < 80);
        return 0;
    }
    FUZZ_CHECK(!p.attrs.empty());
    for (const auto& a : p.attrs) {
        FUZZ_CHECK(asmtpd::proto::xclient_attribute_names().find(a.name) != std::string_view::npos);
        if (!a.value) continue;
        FUZZ_CHECK(!a.value->empty());
        for (char c : *a.value) FUZZ_CHECK(c > ' ' && c < 0x7f);
    }
    return 0;
}
