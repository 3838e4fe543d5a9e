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

#include "core/proto/reply.hpp"
#include "hooks/result.hpp"
#include "core/client/smtp_client.hpp"

namespace asmtpd::plugins {

// DENYSOFT 451 4.3.0 "Temporary failure forwarding the message: <why>".
hooks::Verdict soft_failure(std::string_view why);
// A 5xx from the next hop, passed on: DENY with the same code, its enhanced code (else
// 5.0.0) and its text (at most 8 lines). Anything else: soft_failure("next hop said: ...").
hooks::Verdict pass_refusal(const proto::Reply& r);

// The verdict for every report that did not reach the final replies:
//   local failure (timeout, connection refused or lost, malformed reply)      -> 451
//   greeting / EHLO refused (the next hop refuses us, not this message)       -> 451
//   MAIL or DATA refused                                                      -> pass_refusal
//   RCPT: every recipient refused with 5xx -> DENY with the first; else       -> 451
// The RCPT rule: our client already has a 250 for each recipient, and DATA is not sent
// unless all were accepted downstream; a 5xx for the whole message would bounce recipients
// the next hop accepted, so only a refusal of all of them may be permanent.
// nullopt when the report is complete (the caller judges report.final_replies).
std::optional<hooks::Verdict> verdict_before_final(const client::DeliveryReport& r);

// One line for the log: stage, failure, replies.
std::string describe(const client::DeliveryReport& r);

}  // namespace asmtpd::plugins
