// uri_hosts_fuzz.cpp - libFuzzer target for core/proto/uri_hosts.cpp and uribl_zones.cpp. The
// first byte picks the cap, the rest is a decoded body text (and, line by line, uribl_zones).
// Invariants: never more results than the cap, each unique; every host is lower case, a valid
// DNS list name with at least one dot and no final dot; every address is a dotted quad whose
// reversal reverses back; a parsed zone is lower case with a dot.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/dns_lists.hpp"
#include "core/proto/text.hpp"
#include "core/proto/uri_hosts.hpp"
#include "core/proto/uribl_zones.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::size_t cap = data[0] % 40;
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    const auto r = find_uri_hosts(in, cap);
    FUZZ_CHECK(r.hosts.size() + r.ipv4.size() <= cap);
    std::set<std::string> seen;
    for (const auto& h : r.hosts) {
        FUZZ_CHECK(seen.insert(h).second);
        FUZZ_CHECK(to_lower(h) == h);
        FUZZ_CHECK(is_dns_list_name(h));
        FUZZ_CHECK(h.find('.') != std::string::npos && h.back() != '.');
    }
    for (const auto& a : r.ipv4) {
        FUZZ_CHECK(seen.insert(a).second);
        FUZZ_CHECK(reversed_ipv4(reversed_ipv4(a)) == a);
    }
    std::vector<std::string> lines;
    std::size_t start = 0;
    while (start <= in.size() && lines.size() < 64) {
        auto nl = in.find('\n', start);
        if (nl == std::string_view::npos) nl = in.size();
        lines.emplace_back(in.substr(start, nl - start));
        start = nl + 1;
    }
    std::string err;
    for (const auto& z : parse_uribl_zones(lines, &err)) {
        FUZZ_CHECK(to_lower(z.zone) == z.zone);
        FUZZ_CHECK(z.zone.find('.') != std::string::npos);
    }
    return 0;
}
