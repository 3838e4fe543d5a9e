// dmarc_record.hpp - the DMARC policy record (RFC 7489 §6.3, with np= from RFC 9091), as
// published in TXT at _dmarc.<domain>.
//
//   dmarc-record = dmarc-version *( ";" tag ) [ ";" ]     (DKIM tag-list syntax, §6.4)
//   v=DMARC1 (required, first, exact)   p=none|quarantine|reject (required)
//   sp= np= (same values, optional)     adkim= aspf= r|s (default r)    pct=0..100 (100)
//   rua= ruf= (URI lists, kept as text) fo= (text, default "0")          ri= (default 86400)
//
// What parse_record() decides, following §6.6.3 (policy discovery):
//   NotDmarc  the text does not start with a "v=" tag naming DMARC1 (§6.6.3 steps 2 and 4:
//             discarded, as if absent; a caller counts only the other records);
//   Invalid   it does, but the tag list is malformed (a repeated tag, "a=1;;b", a control
//             character), or p= is missing/invalid or sp=/np= invalid and no rua= URI is
//             syntactically valid (step 6 B: no DMARC processing; we report permerror);
//   Valid     otherwise. A bad p= (or sp=/np=) with a valid rua= URI gives p=none and drops
//             the bad sp=/np= (step 6 A; `p_from_rua` says so). Other tags with a bad value
//             take their default (§6.3: "syntax errors in the remainder of the record SHOULD
//             be discarded in favor of default values"). Unknown tags are ignored (§6.3).
// Tag names are case-sensitive as in DKIM; the values of p, sp, np, adkim and aspf are not
// (published records say "p=REJECT" too). Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::proto::dmarc {

enum class Policy { None, Quarantine, Reject };
enum class Alignment { Relaxed, Strict };

struct Record {
    Policy p = Policy::None;
    std::optional<Policy> sp;     // subdomains of the organizational domain; absent = p
    std::optional<Policy> np;     // non-existent subdomains (RFC 9091); parsed, not applied
    unsigned pct = 100;
    Alignment adkim = Alignment::Relaxed;
    Alignment aspf = Alignment::Relaxed;
    std::string rua, ruf;         // as written (FWS kept)
    std::string fo = "0";
    std::uint32_t ri = 86400;
    bool p_from_rua = false;      // p was missing or bad: p=none by §6.6.3 step 6 A

    Policy subdomain_policy() const { return sp.value_or(p); }
};

enum class RecordStatus { Valid, NotDmarc, Invalid };

struct ParsedRecord {
    RecordStatus status = RecordStatus::NotDmarc;
    std::optional<Record> record;   // set when Valid
    std::string error;              // why, when Invalid or NotDmarc
};

// `txt`: one TXT record's strings, already joined.
ParsedRecord parse_record(std::string_view txt);

// §6.6.3 steps 2, 4 and 5 over every TXT record at one _dmarc name: the records that are not
// DMARC are discarded; none left gives NotDmarc (look further, or no policy), several give
// Invalid ("several DMARC records": no DMARC processing), one gives parse_record()'s answer.
ParsedRecord select_record(const std::vector<std::string>& txts);

std::string_view to_string(Policy p);
std::optional<Policy> policy_from_string(std::string_view s);   // ASCII case-insensitive

// Whether a rua=/ruf= list holds at least one syntactically valid URI ("scheme:rest",
// an optional "!size" suffix allowed), §6.4's dmarc-uri.
bool has_valid_uri(std::string_view uri_list);

}  // namespace asmtpd::proto::dmarc
