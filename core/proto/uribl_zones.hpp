// uribl_zones.hpp - the uribl plugin's zone list and what an answer means (qpsmtpd's uribl).
//
//   uribl_zones   one zone a line: "zone [mask[,mask...]] [action]"
//                 zone    a host name (the list, e.g. multi.uribl.com)
//                 mask    integers ORed together, applied to the A record read as a 32-bit
//                         number (multi.uribl.com 2: the black list bit of 127.0.0.2); missing
//                         or negative: 0x00ffffff, every list of a composite zone
//                 action  add-header | deny | denysoft | log, overriding the plugin's action
// Blank lines and lines starting with '#' are skipped. An A record is a match when it is an
// IPv4 address in 127.0.0.0/8 outside 127.255.255.0/24 ("query refused", as the DNS lists
// answer it) and (address & mask) is not zero.
// Pure: no I/O, no DNS, no logging.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::proto {

enum class UriblAction { AddHeader, Deny, DenySoft, Log };

std::optional<UriblAction> uribl_action_from_string(std::string_view s);
std::string_view to_string(UriblAction a);

struct UriblZone {
    std::string zone;                      // lower case, no final dot
    std::uint32_t mask = 0x00ffffff;
    std::optional<UriblAction> action;     // unset: the plugin's action
};

// One line; nullopt and *error set when malformed ("not a zone", "bad mask", "bad action").
std::optional<UriblZone> parse_uribl_zone(std::string_view line, std::string* error);
// Every line; skipped lines give nothing. The first malformed line stops the parse: *error
// quotes it ("'multi.uribl.com x': bad mask 'x'").
std::vector<UriblZone> parse_uribl_zones(const std::vector<std::string>& lines, std::string* error);

// Whether one A record of the zone's answer lists the name.
bool uribl_match(std::string_view a_record, std::uint32_t mask);

}  // namespace asmtpd::proto
