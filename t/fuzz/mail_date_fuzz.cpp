// mail_date_fuzz.cpp - libFuzzer target for core/proto/mail_date.cpp: the input is one Date
// field value. Invariants: a parsed date lies between year 0 and 10000 (4-digit years,
// zones of at most 99:59), and printing it back in RFC 5322 form parses to the same instant.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string_view>

#include "core/proto/mail_date.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

namespace {
// The civil date of a day number (Howard Hinnant's civil_from_days).
void civil(std::int64_t z, std::int64_t& y, unsigned& m, unsigned& d) {
    z += 719468;
    const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const auto doe = static_cast<unsigned>(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    const auto t = parse_mail_date(in);
    if (!t) return 0;
    FUZZ_CHECK(*t >= days_from_civil(-1, 12, 27) * 86400);
    FUZZ_CHECK(*t < days_from_civil(10000, 1, 6) * 86400);
    std::int64_t y;
    unsigned m, d;
    const std::int64_t days = (*t >= 0 ? *t : *t - 86399) / 86400;
    const std::int64_t secs = *t - days * 86400;
    civil(days, y, m, d);
    static const char* kMon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char buf[64];
    std::snprintf(buf, sizeof buf, "%u %s %lld %02lld:%02lld:%02lld +0000", d, kMon[m - 1], static_cast<long long>(y),
                  static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                  static_cast<long long>(secs % 60));
    if (y >= 1000 && y <= 9999) FUZZ_CHECK(parse_mail_date(buf) == t);
    return 0;
}
