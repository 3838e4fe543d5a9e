// dsn_fuzz.cpp - libFuzzer target for core/proto/dsn.cpp (NOTIFY, RET, ENVID and ORCPT values
// come from the network). The first octet picks the parser. Invariants: no crash; an error is
// 501 5.5.4; an accepted value's normal form is clean wire text (xchars, "+XX", fixed words,
// no "=", SP or controls) that parses back to the same value.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/proto/dsn.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

namespace {

void clean(std::string_view s) {
    for (char c : s) FUZZ_CHECK(c > ' ' && c < 0x7f && c != '=');
}

template <class T>
void check_error(const Expected<T>& r) {
    if (!r) FUZZ_CHECK(r.error().code == 501 && r.error().esc == "5.5.4");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 4) {
        case 0: {
            auto n = parse_dsn_notify(in);
            check_error(n);
            if (!n) break;
            const std::string f = format_dsn_notify(*n);
            clean(f);
            FUZZ_CHECK(*parse_dsn_notify(f) == *n);
            break;
        }
        case 1: {
            auto r = parse_dsn_ret(in);
            check_error(r);
            if (r) FUZZ_CHECK(*parse_dsn_ret(to_string(*r)) == *r);
            break;
        }
        case 2: {
            auto e = parse_dsn_envid(in);
            check_error(e);
            if (!e) break;
            FUZZ_CHECK(!e->empty() && e->size() <= kDsnMaxEnvid);
            const std::string f = encode_xtext(*e);
            clean(f);
            auto back = parse_dsn_envid(f);
            FUZZ_CHECK(back && *back == *e);
            break;
        }
        default: {
            auto o = parse_dsn_orcpt(in);
            check_error(o);
            if (!o) break;
            const std::string f = format_dsn_orcpt(*o);
            clean(f);
            // Never longer than the input (xtext input has no raw octet we would encode), so
            // it always parses back within kDsnMaxOrcpt.
            FUZZ_CHECK(f.size() <= in.size());
            auto back = parse_dsn_orcpt(f);
            FUZZ_CHECK(back && *back == *o);
            break;
        }
    }
    return 0;
}
