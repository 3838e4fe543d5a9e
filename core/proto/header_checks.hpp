// header_checks.hpp - the pure checks behind the headers, loop and bogus_bounce plugins
// (qpsmtpd's plugins of those names), over a header block as core/proto/header_block splits it.
//
//   required fields   each named field must be present with a non-empty value
//                     ("We require a valid From header")
//   singular fields   RFC 5322 §3.6: Date From Sender Reply-To To Cc Bcc Message-Id
//                     In-Reply-To References Subject at most once each
//                     ("Only one Subject header allowed. See RFC 5322, Section 3.6")
//   date window       the Date field (mail_date.hpp) no more than `past` days before now and no
//                     more than `future` days after it; 0 = that side is not checked; a Date
//                     that does not parse is not checked (qpsmtpd: "skip, date not parseable")
//   hops              Received and Delivered-To fields, for loop detection (qmail's count)
// Names compare case-insensitively. Pure: no I/O; `now` is given.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::proto {

// The unfolded, trimmed values of every field named `name`, in order.
std::vector<std::string> field_values(std::string_view block, std::string_view name);

// The RFC 5322 singular fields, as qpsmtpd lists them.
const std::vector<std::string_view>& singular_fields();

struct HeaderProblem {
    std::string reply;   // the text for the client
    std::string log;     // "no From header", "too many Subject headers", "date too old (...)"
};

// Required-field and singular-field problems, in that order (required in the given order).
std::vector<HeaderProblem> field_problems(std::string_view block, const std::vector<std::string>& required);

struct DateCheck {
    enum class Outcome { Ok, NoDate, Unparseable, TooOld, InFuture } outcome = Outcome::Ok;
    std::string value;   // the Date value checked (unfolded), for the log
};
DateCheck check_date_window(std::string_view block, std::int64_t now, std::uint64_t past_days,
                            std::uint64_t future_days);

// Received + Delivered-To fields in the block.
std::size_t count_hops(std::string_view block);

}  // namespace asmtpd::proto
