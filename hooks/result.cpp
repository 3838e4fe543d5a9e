// result.cpp - qpsmtpd's return-constant spellings for Result.
//
// result_from_string reads what external plugins (dso, spp helpers, logs) write; it accepts
// any letter case and qpsmtpd's old alias DENYHARD, and never guesses beyond that.
#include "hooks/result.hpp"

#include <array>

namespace asmtpd::hooks {
namespace {

struct Spelling {
    Result result;
    std::string_view name;
};

// The first spelling of each result is the canonical one.
constexpr std::array<Spelling, 8> kSpellings = {{
    {Result::Declined, "DECLINED"},
    {Result::Ok, "OK"},
    {Result::Deny, "DENY"},
    {Result::DenySoft, "DENYSOFT"},
    {Result::DenyDisconnect, "DENY_DISCONNECT"},
    {Result::DenySoftDisconnect, "DENYSOFT_DISCONNECT"},
    {Result::Done, "DONE"},
    {Result::DenyDisconnect, "DENYHARD"},
}};

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        char x = a[i], y = b[i];
        if (x >= 'a' && x <= 'z') x = static_cast<char>(x - 'a' + 'A');
        if (x != y) return false;
    }
    return true;
}

}  // namespace

std::string_view to_string(Result r) {
    for (const auto& s : kSpellings)
        if (s.result == r) return s.name;
    return "INVALID";
}

std::optional<Result> result_from_string(std::string_view s) {
    for (const auto& sp : kSpellings)
        if (iequals(s, sp.name)) return sp.result;
    return std::nullopt;
}

}  // namespace asmtpd::hooks
