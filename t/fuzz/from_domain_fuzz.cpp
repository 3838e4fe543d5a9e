// from_domain_fuzz.cpp - libFuzzer target for core/proto/from_domain.cpp: the input is one From
// field value. Invariants: a domain returned is a valid lower-case host name (so it is safe as
// a file name: no '/', no "..", never empty), and it occurs in the input (case ignored).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/proto/from_domain.hpp"
#include "core/proto/text.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    const auto d = from_domain(in);
    if (!d) return 0;
    FUZZ_CHECK(valid_host_domain(*d));
    FUZZ_CHECK(to_lower(*d) == *d);
    FUZZ_CHECK(d->find('/') == std::string::npos && d->find("..") == std::string::npos);
    FUZZ_CHECK(to_lower(in).find(*d) != std::string::npos);
    return 0;
}
