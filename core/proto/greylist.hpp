// greylist.hpp - the greylisting plugin's record and decision (RFC 6647, qpsmtpd's greylisting):
// what a triplet's record says, what the next one is, and the client network of the triplet.
//
// Record text (qpsmtpd's format, kept in the state store): "TS:NEW:BLACK:WHITE", TS the Unix
// time the record was (re)started, NEW how often the triplet was seen new, BLACK how many
// retries came too early, WHITE how many passes since it became white (0 = not white yet).
// Decision (qpsmtpd's, times in seconds):
//   no record, or a record past its time  -> new: defer; record (now, NEW+1, BLACK, 0)
//   not white, before TS + black_timeout  -> still black: defer; record (TS, NEW, BLACK+1, 0)
//   not white, before TS + grey_timeout   -> passes, turns white; record (now, NEW, BLACK, 1)
//   white, before TS + white_timeout      -> passes; record (now, NEW, BLACK, WHITE+1)
// Pure: no I/O, no clock (the caller passes now). The record comes from a store another
// instance may write, so parsing is strict and a bad record counts as none.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace asmtpd::proto {

struct GreylistRecord {
    std::uint64_t ts = 0;
    std::uint64_t new_count = 0;
    std::uint64_t black = 0;
    std::uint64_t white = 0;
    bool operator==(const GreylistRecord&) const = default;
};

std::optional<GreylistRecord> parse_greylist_record(std::string_view text);
std::string format_greylist_record(const GreylistRecord& r);

struct GreylistTimeouts {
    std::uint64_t black = 50 * 60;           // qpsmtpd's defaults, seconds
    std::uint64_t grey = 3 * 3600 + 20 * 60;
    std::uint64_t white = 36 * 86400;
};

struct GreylistDecision {
    bool pass = false;
    const char* state = "new";   // "new", "black", "grey" (passes, now white), "white"
    GreylistRecord next;         // what to store
    std::uint64_t ttl = 0;       // seconds the stored record is worth keeping
};

GreylistDecision greylist_decide(const std::optional<GreylistRecord>& current, std::uint64_t now,
                                 const GreylistTimeouts& t);

// The client part of the triplet: the address masked to v4_prefix (IPv4, mapped IPv6 too) or
// v6_prefix bits, as "192.0.2.0/24" or "2001:db8::/64"; empty for text that is no address.
std::string greylist_network(std::string_view ip, unsigned v4_prefix = 24, unsigned v6_prefix = 64);

}  // namespace asmtpd::proto
