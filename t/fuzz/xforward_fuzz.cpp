// xforward_fuzz.cpp - libFuzzer target for core/proto/xforward.cpp (XFORWARD arguments come
// from the network). Invariants: no crash; on success every attribute is a known upper-case
// name, every value is printable ASCII without spaces (it goes into a log line, the Received
// header or an environment variable), only an unavailable value is temporary, an ADDR is an
// IP address and a SOURCE LOCAL or REMOTE; an error is short and has no control character.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/proto/cidr.hpp"
#include "core/proto/xforward.hpp"
#include "t/fuzz/fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    auto p = asmtpd::proto::parse_xforward(in);
    if (!p.error.empty()) {
        FUZZ_CHECK(!asmtpd::fuzz::has_ctl(p.error));
        FUZZ_CHECK(p.error.size() < 80);
        return 0;
    }
    FUZZ_CHECK(!p.attrs.empty());
    for (const auto& a : p.attrs) {
        FUZZ_CHECK(!a.name.empty());
        FUZZ_CHECK(asmtpd::proto::xforward_attribute_names().find(a.name) != std::string_view::npos);
        if (!a.value) continue;
        FUZZ_CHECK(!a.temporary);
        FUZZ_CHECK(!a.value->empty());
        for (char c : *a.value) FUZZ_CHECK(c > ' ' && c < 0x7f);
        if (a.name == "ADDR") FUZZ_CHECK(asmtpd::proto::parse_ip(*a.value).has_value());
        if (a.name == "SOURCE") FUZZ_CHECK(*a.value == "LOCAL" || *a.value == "REMOTE");
    }
    return 0;
}
