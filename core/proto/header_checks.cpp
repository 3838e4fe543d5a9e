// header_checks.cpp - required, singular, Date window and hop checks. See header_checks.hpp.
#include "core/proto/header_checks.hpp"

#include <algorithm>

#include "core/proto/header_block.hpp"
#include "core/proto/mail_date.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::proto {

std::vector<std::string> field_values(std::string_view block, std::string_view name) {
    std::vector<std::string> out;
    for (const auto& f : split_header_block(block))
        if (!f.name.empty() && iequals(f.name, name)) out.push_back(unfold(f.value()));
    return out;
}

const std::vector<std::string_view>& singular_fields() {
    static const std::vector<std::string_view> kSingular = {"Date", "From",        "Sender",     "Reply-To",
                                                            "To",   "Cc",          "Bcc",        "Message-Id",
                                                            "In-Reply-To", "References", "Subject"};
    return kSingular;
}

std::vector<HeaderProblem> field_problems(std::string_view block, const std::vector<std::string>& required) {
    std::vector<HeaderProblem> out;
    const auto fields = split_header_block(block);
    auto count = [&](std::string_view name, bool non_empty) {
        std::size_t n = 0;
        for (const auto& f : fields)
            if (!f.name.empty() && iequals(f.name, name) && (!non_empty || !unfold(f.value()).empty())) ++n;
        return n;
    };
    for (const auto& r : required)
        if (count(r, true) == 0) out.push_back({"We require a valid " + r + " header", "no " + r + " header"});
    for (auto s : singular_fields())
        if (count(s, false) > 1)
            out.push_back({"Only one " + std::string(s) + " header allowed. See RFC 5322, Section 3.6",
                           "too many " + std::string(s) + " headers"});
    return out;
}

DateCheck check_date_window(std::string_view block, std::int64_t now, std::uint64_t past_days,
                            std::uint64_t future_days) {
    DateCheck c;
    auto values = field_values(block, "Date");
    if (values.empty()) {
        c.outcome = DateCheck::Outcome::NoDate;
        return c;
    }
    c.value = values.front();
    auto t = parse_mail_date(c.value);
    if (!t) {
        c.outcome = DateCheck::Outcome::Unparseable;
        return c;
    }
    constexpr std::int64_t kDay = 24 * 3600;
    constexpr std::uint64_t kMaxDays = 1000000;   // keeps the products far from overflow
    if (past_days && *t < now - static_cast<std::int64_t>(std::min(past_days, kMaxDays)) * kDay)
        c.outcome = DateCheck::Outcome::TooOld;
    else if (future_days && *t > now + static_cast<std::int64_t>(std::min(future_days, kMaxDays)) * kDay)
        c.outcome = DateCheck::Outcome::InFuture;
    return c;
}

std::size_t count_hops(std::string_view block) {
    std::size_t n = 0;
    for (const auto& f : split_header_block(block))
        if (iequals(f.name, "Received") || iequals(f.name, "Delivered-To")) ++n;
    return n;
}

}  // namespace asmtpd::proto
