// mail_date.hpp - the Date field of a message (RFC 5322 §3.3) as seconds since the epoch, for
// the headers plugin's date window (qpsmtpd's headers uses Date::Parse's str2time).
//
// Grammar (RFC 5322 §3.3 with the obsolete forms of §4.3, as mail still carries them):
//   date-time   = [ day-of-week "," ] day month year hour ":" minute [ ":" second ] [ zone ]
//   day-of-week = "Mon" / ... / "Sun", or the full name ("Wednesday"); the comma may be missing
//   day         = 1*2DIGIT            month = "Jan" / ... / "Dec" (or the full name), any case
//   year        = 4DIGIT, or 2DIGIT (< 50: 20xx, else 19xx) or 3DIGIT (+ 1900), §4.3
//   zone        = ("+" / "-") 4DIGIT / "UT" / "GMT" / "Z" / "EST" "EDT" "CST" "CDT" "MST" "MDT"
//                 "PST" "PDT" / a military letter (-0000 as §4.3 says) / nothing (taken as UTC)
// Comments "(...)" (nested, with quoted-pairs) and folding white space are skipped anywhere
// between tokens. The day must exist in its month (no 31 Feb); seconds 60 (a leap second)
// count as 59. Anything after the zone other than comments and white space fails the parse.
// Pure: no I/O, no clock, no locale.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace asmtpd::proto {

// Seconds since 1970-01-01T00:00:00Z; nullopt when `value` is not a date-time as above.
std::optional<std::int64_t> parse_mail_date(std::string_view value);

// Days since 1970-01-01 of a proleptic Gregorian date (month 1..12); for tests and callers
// that build timestamps.
std::int64_t days_from_civil(std::int64_t year, unsigned month, unsigned day);

}  // namespace asmtpd::proto
