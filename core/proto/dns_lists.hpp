// dns_lists.hpp - the pure parts of the DNS list plugins (dnsbl, rhsbl): their config lines,
// the names they look up, what an answer means, and rblsmtpd's RBLSMTPD variable.
//
//   dnsbl_zones   "zone" or "zone:message" (qpsmtpd): a zone with a message is asked for A
//                 records and the message (with %IP% expanded) is the reply text; a zone without
//                 one is asked for A, and its TXT record (if any) becomes the text.
//   rhsbl_zones   "zone" or "zone message" (qpsmtpd splits at white space).
// Only answers in 127.0.0.0/8 mean "listed" (anything else is a wildcard or a hijacking
// resolver); 127.255.255.0/24 is the range lists use for "query refused" (Spamhaus: public
// resolver, over quota, typo in the zone name) and never means listed.
// Pure: no I/O, no DNS, no logging.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::proto {

struct DnsListZone {
    std::string zone;                    // lower case, no final dot
    std::optional<std::string> message;  // as written (may hold %IP%)
    bool operator==(const DnsListZone&) const = default;
};

// A host name as DNS lists and their query names need it: LDH labels (plus '_'), 1..63
// octets each, 253 octets in all, one optional final dot. Not an IP address check.
bool is_dns_list_name(std::string_view name);

// One line of dnsbl_zones / rhsbl_zones; nullopt when the zone is no host name.
std::optional<DnsListZone> parse_dnsbl_zone(std::string_view line);
std::optional<DnsListZone> parse_rhsbl_zone(std::string_view line);
// Every line; the malformed ones go to `bad` (if given) and are skipped.
std::vector<DnsListZone> parse_dnsbl_zones(const std::vector<std::string>& lines, std::vector<std::string>* bad);
std::vector<DnsListZone> parse_rhsbl_zones(const std::vector<std::string>& lines, std::vector<std::string>* bad);

// "4.3.2.1.zone" for 1.2.3.4 (also as ::ffff:1.2.3.4), 32 reversed nibbles then the zone for
// IPv6 (RFC 5782 §2.4); nullopt when ip is no address or the result is too long.
std::optional<std::string> dnsbl_query_name(std::string_view ip, std::string_view zone);
// "domain.zone" for a right-hand-side list; nullopt when it is no valid name (too long ...).
std::optional<std::string> rhsbl_query_name(std::string_view domain, std::string_view zone);

enum class DnsListAnswer { listed, refused, ignored };
// One A record of a list's answer: listed (127.0.0.0/8 outside 127.255.255.0/24), refused
// (127.255.255.0/24) or ignored (anything else, including text that is no IPv4 address).
DnsListAnswer classify_dns_list_answer(std::string_view a_record);

// Replaces every "%IP%" by ip (qpsmtpd's %IP% expansion).
std::string expand_ip(std::string_view text, std::string_view ip);

// rblsmtpd(1): RBLSMTPD unset -> check the lists; set and empty -> skip them; "-text" -> a
// permanent refusal with text; any other text -> a temporary refusal with text.
struct RblsmtpdSetting {
    enum class Kind { check, skip, reject_temp, reject_perm } kind = Kind::check;
    std::string text;
};
RblsmtpdSetting rblsmtpd_setting(const std::map<std::string, std::string>& env);

}  // namespace asmtpd::proto
