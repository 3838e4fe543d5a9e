// delivery_verdict.hpp - turning a next hop's answer (DeliveryReport) into the Verdict our
// client gets: the rules queue/smtp_forward and queue/lmtp share.
//
// Never an OK here: only a plugin, looking at the final replies, may say OK. Everything that
// is not an explicit permanent refusal of the message becomes 451 4.3.0 (RELIABILITY P2).
// Client-facing texts name no internal address; the details are for the log (describe()).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/proto/reply.hpp"
#include "hooks/result.hpp"
#include "core/client/mx_route.hpp"
#include "core/client/smtp_client.hpp"

namespace asmtpd::plugins {

// DENYSOFT 451 4.3.0 "Temporary failure forwarding the message: <why>".
hooks::Verdict soft_failure(std::string_view why);
// A 5xx from the next hop, passed on: DENY with the same code, its enhanced code (else
// 5.0.0) and its text (at most 8 lines). Anything else: soft_failure("next hop said: ...").
hooks::Verdict pass_refusal(const proto::Reply& r);

// The verdict for every report that did not reach the final replies:
//   the next hop greets with our own host name (Failure::Loop)                -> 451 4.4.6
//   STARTTLS required but unavailable, handshake/certificate failure (Tls)    -> 451 4.7.5
//   AUTH impossible or refused (Failure::Auth)                                -> 451 4.7.0
//   local failure (timeout, connection refused or lost, malformed reply)      -> 451
//   greeting / EHLO refused (the next hop refuses us, not this message)       -> 451
//   MAIL or DATA refused                                                      -> pass_refusal
//   RCPT: every recipient refused with 5xx -> DENY with the first; else       -> 451
// The RCPT rule: our client already has a 250 for each recipient, and DATA is not sent
// unless all were accepted downstream; a 5xx for the whole message would bounce recipients
// the next hop accepted, so only a refusal of all of them may be permanent.
// nullopt when the report is complete (the caller judges report.final_replies).
std::optional<hooks::Verdict> verdict_before_final(const client::DeliveryReport& r);

// A route that DNS could not give (mx_route.hpp). domain: the recipient domain, or empty for
// the configured next hop (its name is internal: never shown to the client).
//   TempFail  451 4.4.3   "Temporary failure in DNS lookup of <domain>" / "... of the next hop"
//   NullMx    556 5.1.10  "Recipient domain <domain> does not accept mail (null MX)" (RFC 7505 §4.2)
//   NoRoute   550 5.4.4   "Unable to route mail to <domain>: <why>"; for the configured next
//                         hop always 451 4.4.3 (an operator's problem, not the message's)
hooks::Verdict route_failure(const client::Route& route, std::string_view domain);

// What was tried for one recipient domain (or the one configured next hop), in order.
struct DomainVerdict {
    std::string domain;
    hooks::Verdict verdict;
};
// The message's one verdict from the domains tried in order, delivery stopping at the first
// that was not OK (`total` domains in the message):
//   every domain OK                          -> OK (a single domain keeps its own text)
//   the first domain tried was not OK        -> its verdict as it is (nothing was delivered:
//                                               a 5xx bounces no recipient that got the mail)
//   a later one was not OK, even with a 5xx  -> 451 4.3.0: the domains before it hold the
//                                               message; the retry gives them a duplicate
//                                               (RFC 5321 §6.1), never a false bounce or loss
hooks::Verdict combine_domains(const std::vector<DomainVerdict>& tried, std::size_t total, const std::string& id);

// One line for the log: stage, failure, replies.
std::string describe(const client::DeliveryReport& r);

}  // namespace asmtpd::plugins
