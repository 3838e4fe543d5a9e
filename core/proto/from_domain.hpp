// from_domain.hpp - the domain of the author in a From header field (RFC 5322 §3.6.2), which
// the DKIM signer signs for (d=) and DMARC aligns against.
//
// Grammar handled (RFC 5322 §3.4, obsolete forms included where mail still uses them):
//   from       = mailbox-list
//   mailbox    = name-addr / addr-spec
//   name-addr  = [display-name] CFWS? "<" addr-spec ">" CFWS?
//   addr-spec  = local-part "@" domain
// Comments "(...)" (nested, with quoted-pairs) are dropped, quoted strings are skipped whole,
// so an "@" or "<" inside either never counts. The domain must be a dot-atom host name:
// letters, digits, '-' and '_' in labels of 1..63 octets, 253 octets in all, no empty label;
// a trailing dot is removed. The result is lower-cased.
// Never returns: a domain from a From with several mailboxes or a group (nobody to choose;
// DMARC §6.6.1 leaves that to local policy), a domain-literal ("[192.0.2.1]"), anything that
// could name a path ("..", "/"). So the result is safe to use as a file name.
// Pure: no I/O, no logging.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace asmtpd::proto {

// `value`: the field's value (after the colon, folding included). nullopt when it does not
// hold exactly one mailbox with a valid host-name domain.
std::optional<std::string> from_domain(std::string_view value);

// True when `domain` is a host name as from_domain() accepts it (case ignored, no trailing dot).
bool valid_host_domain(std::string_view domain);

}  // namespace asmtpd::proto
