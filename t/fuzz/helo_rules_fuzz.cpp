// helo_rules_fuzz.cpp - libFuzzer target for core/proto/helo_rules.cpp.
// The input is a HELO argument from the network. Invariants: every policy gives an answer
// without crashing, a stricter policy never passes what a laxer one refuses, an address
// literal is never a name to resolve, and badhelo patterns run on any input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/proto/helo_rules.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size > 512) return 0;   // an SMTP command line is at most 512 octets
    static const BadHelo bad = BadHelo::parse({"yahoo.com", "^dsl-[0-9]+\\.", "!\\."}, nullptr);
    std::string host(reinterpret_cast<const char*>(data), size);
    HeloFacts f;
    f.host = host;
    f.remote_ip = "192.0.2.7";
    f.me = "mx.example.org";
    f.my_ips = {"198.51.100.1"};
    bool lenient = !helo_static_check(HeloPolicy::lenient, f, bad);
    bool rfc = !helo_static_check(HeloPolicy::rfc, f, bad);
    bool strict = !helo_static_check(HeloPolicy::strict, f, bad);
    FUZZ_CHECK(lenient || !rfc);
    FUZZ_CHECK(rfc || !strict);
    if (helo_address_literal(host)) FUZZ_CHECK(!helo_is_name(host));
    (void)helo_name_near(host, "mx.example.org");
    (void)helo_ip_near(host, "192.0.2.7");
    return 0;
}
