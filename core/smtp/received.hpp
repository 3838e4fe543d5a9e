// received.hpp - the Received header asmtpd prepends to every message (RFC 5321 §4.4).
//
//   Received: from <helo> (<forward-confirmed rDNS name, or "unknown" as Postfix writes it> [<ip>])
//   	by <hostname> (asmtpd) with <ESMTP|SMTP>[S][A] id <txn id>
//   	for <rcpt>; <RFC 5322 date>          ("for" only with exactly one recipient)
// Everything that came from the client is already validated (HELO host, addresses), and is
// stripped of controls again here because a header injection would be forever.
#pragma once

#include <ctime>
#include <string>
#include <string_view>

#include "core/proto/connection_info.hpp"
#include "hooks/transaction.hpp"

namespace asmtpd::smtp {

// forwarded_proto: an XFORWARD PROTO of this transaction, the "with" value instead of our own.
std::string received_header(const proto::ConnectionInfo& info, const hooks::Transaction& txn,
                            const std::string& hostname, std::time_t now, std::string_view forwarded_proto = {});

// RFC 3848's "with" value: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA; forwarded_proto when given
// (XFORWARD PROTO, as Postfix writes it).
std::string received_protocol(const proto::ConnectionInfo& info, std::string_view forwarded_proto = {});

// A received_line plugin's text as a "Received: ...\r\n" header: its lines ('\n') are folded
// with CRLF + tab and control characters are replaced, so a plugin cannot inject a header.
std::string received_from_plugin(std::string_view text);

// "Sun, 22 Nov 2026 00:16:18 +0000" in local time with its offset.
std::string rfc5322_date(std::time_t now);

}  // namespace asmtpd::smtp
