// dmarc_note.hpp - the transaction note the dmarc plugin leaves for the Authentication-Results
// writer: its format, written in one place so the writer and the plugin cannot drift apart.
//
// "dmarc" is the RFC 8601 method result, ready to follow "dmarc=" in the header field:
//   RESULT [(COMMENT)] [header.from=DOMAIN]
//   pass (p=reject sp=reject dis=none) header.from=example.com
//   fail (p=reject sp=none dis=reject) header.from=example.com
//   fail (p=quarantine sp=quarantine dis=none override=sampled_out) header.from=example.com
//   none header.from=example.com                 (no DMARC record)
//   temperror header.from=example.com            (the record lookup failed; or an aligned
//                                                  DKIM/SPF temperror and nothing passed)
//   permerror header.from=example.com            (an invalid record, several records)
//   permerror (multiple From fields) header.from=example.com
//   permerror (no From field)                    (no domain: header.from left out)
// RESULT is none, pass, fail, temperror or permerror. The comment carries p= (the record's
// p), sp= (its sp, or p when absent) and dis= (what this receiver did: none, quarantine,
// reject) whenever a record was used, then override= when the disposition was lowered
// (RFC 7489 PolicyOverride: sampled_out, trusted_forwarder, mailing_list, local_policy), or a
// short reason for the structural permerrors. DOMAIN is the Author Domain that decided,
// written as an RFC 8601 value. No CR, LF or ';' ever appears.
// Pure: no I/O. Owner: the dmarc plugin (plugins/dmarc/); reader: Authentication-Results.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/proto/dmarc_policy.hpp"

namespace asmtpd::plugins {

inline constexpr std::string_view kDmarcNote = "dmarc";

struct DmarcNote {
    proto::dmarc::Result result = proto::dmarc::Result::None;
    std::string header_from;                        // empty: no domain to name
    std::optional<proto::dmarc::Policy> p, sp;      // set when a record was used
    proto::dmarc::Policy disposition = proto::dmarc::Policy::None;
    proto::dmarc::Override override = proto::dmarc::Override::None;
    std::string reason;                             // the structural permerror's reason
};

// The note's text (no "dmarc=").
std::string format_dmarc_note(const DmarcNote& n);

}  // namespace asmtpd::plugins
