// cidr_fuzz.cpp - libFuzzer target for core/proto/cidr.cpp and core/proto/ip_list.cpp: the
// addresses and networks of relayclients, hosts_allow, tcp.env and PROXY headers.
// Invariants: whatever parses prints canonically and reparses to the same value; a network
// contains its own address; an ip_list entry is refused or yields a network that contains
// the entry's address.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/proto/cidr.hpp"
#include "core/proto/ip_list.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);

    if (auto ip = parse_ip(in)) {
        std::string text = ip->to_string();
        auto again = parse_ip(text);
        FUZZ_CHECK(again && *again == *ip);
        FUZZ_CHECK(again->to_string() == text);
        FUZZ_CHECK(!asmtpd::fuzz::has_ctl(text));
    }

    if (auto net = parse_cidr(in)) {
        FUZZ_CHECK(net->prefix <= 128);
        FUZZ_CHECK(net->contains(net->network));
        std::string text = net->to_string();
        auto again = parse_cidr(text);
        FUZZ_CHECK(again && *again == *net);
        CidrList list;
        list.add(*net);
        FUZZ_CHECK(list.matches(net->network.to_string()));
    }

    if (auto entry = parse_ip_entry(in)) {
        FUZZ_CHECK(entry->contains(entry->network));
        if (auto ip = parse_ip(in)) FUZZ_CHECK(entry->contains(*ip));
    }
    return 0;
}
