// NAME
//   dkim - DKIM signature verification (RFC 6376; ed25519-sha256, RFC 8463; no rsa-sha1,
//   RFC 8301) while the message streams in; the verdicts go to transaction notes for DMARC
//   and the Authentication-Results writer. With `sign`, also DKIM signing of our own users'
//   mail (qpsmtpd's dkim: sign for relay clients, verify the others).
// SYNOPSIS
//   dkim [sign [headers NAME:NAME:...] [oversign NAME:...|none]]
//        [reject 0|1|naughty] [reject_type perm|temp|disconnect|temp_disconnect]
//        [timeout SECONDS] [max_signatures N]
//   defaults: reject 0 (log and note only: accept-and-annotate, what verification without
//   DMARC should do), reject_type perm, timeout 5 (the key lookups' deadline; always at
//   least 250 ms below the plugin timeout), max_signatures 5 (1..50); when signing, headers
//   RFC 4871 §5.5's list (dkim_signer.hpp), oversign From.
// SIGNING (sign; dkim_signer.hpp, sign_keys.hpp)
//   Keys at start-up from config/dkim/<domain>/selector and .../private (a link
//   config/dkim/<alias> -> <domain> signs the alias's mail as d=<domain>); any problem with
//   them fails start-up with the path. Mail of relay clients and authenticated users is
//   signed at data_post (d= the From domain's key, else the envelope sender's; rsa-sha256 or
//   ed25519-sha256 by the key; relaxed/relaxed); the field goes below our Received line.
//   Those sessions are not verified; all others are verified as without `sign`.
// HOOKS
//   data: attaches a DkimObserver (dkim_observer.hpp) to the transaction: it splits off the
//     header block, parses the DKIM-Signature fields (the first max_signatures; the others
//     are logged as not evaluated) and hashes the body as it arrives, one hash per distinct
//     (c= body, l=), on the loop's CPU thread in 64 KB batches (dkim_observer.hpp says what
//     runs where). The spool is never read. Immune sessions (relay clients, authenticated
//     users, whitelisted hosts and senders: plugins/common/immunity.hpp) are not verified,
//     as qpsmtpd skips them (their mail is ours to sign, not to judge): no observer, no notes.
//   data_post_headers: fetches every signature's key ("s._domainkey.d" TXT, the strings
//     joined, the first record when there are several) on the session's resolver, all at
//     once, then judges each signature (io::dkim::judge_signature, now = the wall clock; each
//     distinct key record is decoded once, io::dkim::KeyCache, up to 1024 records):
//       key found      -> pass | fail | permerror by the signature and key
//       NXDOMAIN, no TXT data                 -> permerror "no key for signature"
//       SERVFAIL, timeout, refused            -> temperror "key lookup failed (...)"
// NOTES (transaction)
//   "dkim" (RFC 8601 results, "none" for an unsigned message) and "dkim_results" (one TAB-
//   separated line per signature): the format is plugins/common/dkim_note.hpp.
// LOG
//   One line per evaluated signature:
//     dkim: pass d=example.com s=sel a=rsa-sha256 i=@example.com
//     dkim: fail d=example.com s=sel a=rsa-sha256 i=@example.com (body hash did not verify)
//     dkim: permerror (signature 2: missing required tag bh=)
//   then "dkim: none, not signed" for an unsigned message, "dkim: N more signatures not
//   evaluated (max_signatures M)" when there were more.
// REFUSALS (reject 1, or the naughty note with reject naughty)
//   A message with at least one evaluated signature, none passing and none temperror, and a
//   failing one (fail or permerror) whose key is not in testing mode (t=y keys must not make
//   a difference, RFC 6376 §3.6.1): 550 5.7.20 "No passing DKIM signature found" (RFC 7372;
//   451 4.7.20 with a temporary reject_type). A temperror is never refused.
// Rules: the HookCall is only resolved from the DNS callback while the chain still wants it;
// the resolver drops the callbacks of a session that ended. One object serves every session:
// per-message state lives in the observer, which the transaction owns.
#include <ctime>
#include <memory>
#include <string>
#include <vector>

#include "core/io/dkim_verify.hpp"
#include "core/proto/dkim_signature.hpp"
#include "core/proto/plugin_args.hpp"
#include "core/proto/sasl.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/dkim_note.hpp"
#include "plugins/common/dns_batch.hpp"
#include "plugins/common/immunity.hpp"
#include "plugins/common/reject_policy.hpp"
#include "plugins/dkim/dkim_observer.hpp"
#include "plugins/dkim/dkim_signer.hpp"

namespace asmtpd::plugins {

namespace {

namespace pd = proto::dkim;
namespace vd = io::dkim;
using dkim::Candidate;
using dkim::DkimObserver;

constexpr std::uint64_t kMaxSignaturesLimit = 50;

vd::KeyAnswer key_answer(const proto::DnsResult& r) {
    if (dns_found(r) && !r.records.empty()) return {vd::KeyAnswer::Status::Found, r.records.front().value};
    if (dns_found(r) || dns_none(r)) return {vd::KeyAnswer::Status::NotFound, {}};
    return {vd::KeyAnswer::Status::TempFail, {}};
}

DkimNoteEntry note_entry(const vd::SignatureResult& r) {
    DkimNoteEntry e;
    e.result = std::string(vd::to_string(r.verdict));
    e.reason = r.reason;
    e.testing = r.testing;
    if (const auto& s = r.signature) {
        e.domain = s->domain;
        e.selector = s->selector;
        e.algorithm = std::string(pd::to_string(s->algorithm));
        e.identity = s->identity;
        e.b_prefix = proto::base64_encode(std::string_view(s->signature).substr(0, 6));   // 6 bytes: 8 characters
    }
    return e;
}

std::string log_line(const vd::SignatureResult& r, std::size_t index) {
    std::string out(vd::to_string(r.verdict));
    if (const auto& s = r.signature) {
        out += " d=" + s->domain + " s=" + s->selector + " a=" + std::string(pd::to_string(s->algorithm)) +
               " i=" + s->identity;
        if (!r.reason.empty()) out += " (" + r.reason + ")";
        if (r.testing) out += " [key in testing mode]";
    } else {
        out += " (signature " + std::to_string(index + 1) + ": " + r.reason + ")";
    }
    return out;
}

class Dkim final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        policy_.mode = RejectPolicy::Mode::log_only;
        policy_.type = hooks::Result::Deny;
        proto::ArgPairs args;
        std::vector<std::string> words = in.line.args;
        if (!words.empty() && words.front() == "sign") {
            signer_.emplace();
            words.erase(words.begin());
        }
        if (auto e = read_policy_args(words, {"reject", "reject_type", "timeout", "max_signatures", "headers", "oversign"},
                                      args, policy_, timeout_ms_))
            return e;
        if (!signer_ && (args.has("headers") || args.has("oversign")))
            return std::string("headers and oversign are signing arguments: write 'dkim sign ...'");
        if (signer_)
            if (auto e = signer_->init(args, in.server.config_dir)) return "dkim sign: " + *e;
        if (auto m = args.get("max_signatures")) {
            auto n = proto::parse_count(*m);
            if (!n || *n < 1 || *n > kMaxSignaturesLimit) return "max_signatures must be 1..50, not '" + *m + "'";
            max_signatures_ = static_cast<std::size_t>(*n);
        }
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::Data>(&Dkim::on_data);
        r.on<hooks::Hook::DataPostHeaders>(&Dkim::on_data_post_headers);
        if (signer_) r.on<hooks::Hook::DataPost>(&Dkim::on_data_post);
    }

private:
    void on_data(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        auto* txn = ctx.transaction();
        if (!txn) return call.declined();
        if (signer_ && !dkim::DkimSigner::signs_for(ctx).empty()) {
            signer_->attach(ctx, *txn, name());
            return call.declined();
        }
        if (auto why = immunity(ctx); !why.empty()) {
            ctx.log().info("dkim: skip, immune ({})", why);
            return call.declined();
        }
        txn->body_observers.push_back(std::make_shared<DkimObserver>(name(), max_signatures_, dkim::cpu_poster(ctx)));
        call.declined();
    }

    void on_data_post(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        signer_->sign(ctx, name(), std::move(call));
    }

    std::shared_ptr<DkimObserver> observer(hooks::Transaction& txn) const {
        for (const auto& o : txn.body_observers)
            if (auto d = std::dynamic_pointer_cast<DkimObserver>(o); d && d->owner() == name()) return d;
        return nullptr;
    }

    void on_data_post_headers(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        auto* txn = ctx.transaction();
        auto seen = txn ? observer(*txn) : nullptr;
        if (!seen || !seen->ended()) return call.declined();   // immune, or our data hook did not run
        if (seen->not_evaluated() > 0)
            ctx.log().info("dkim: {} more signatures not evaluated (max_signatures {})", seen->not_evaluated(),
                           max_signatures_);
        if (seen->candidates().empty()) {
            txn->notes[std::string(kDkimNote)] = "none";
            ctx.log().info("dkim: none, not signed");
            return call.declined();
        }
        std::vector<DnsQuestion> questions;
        for (const auto& c : seen->candidates())
            if (c.error.empty()) questions.push_back({pd::key_query_name(*c.signature), proto::DnsType::txt});
        auto* c = &ctx;
        dns_lookup_all(ctx.dns(), std::move(questions), dns_deadline_ms(timeout(), timeout_ms_),
                       [policy = policy_, c, alive = ctx.lifetime(), call, seen,
                        cache = key_cache_](std::vector<proto::DnsResult> keys) {
                           // The session ended, or the chain gave up waiting (plugin timeout).
                           if (alive.expired() || !call.wanted()) return;
                           judge_on_cpu_thread(*c, call, seen, std::move(keys), policy, cache);
                       });
    }

    // An RSA verification costs tens of microseconds (more for 4096-bit keys, and a message may
    // carry max_signatures of them): the loop hands the judging to its CPU thread and reports.
    // The observer has ended, so nothing writes to it any more; the job runs after its body
    // hashing jobs (FIFO) and finishes the hashes and the header hash inputs there.
    static void judge_on_cpu_thread(hooks::Context& ctx, hooks::HookCall call, std::shared_ptr<DkimObserver> seen,
                                    std::vector<proto::DnsResult> keys, const RejectPolicy& policy,
                                    std::shared_ptr<vd::KeyCache> cache) {
        auto results = std::make_shared<std::vector<vd::SignatureResult>>();
        auto* c = &ctx;
        ctx.run_on_cpu_thread([results, seen, keys = std::move(keys), cache] { *results = judge_all(*seen, keys, *cache); },
                              [c, alive = ctx.lifetime(), call, results, policy] {
                                  if (alive.expired() || !call.wanted()) return;
                                  report(*c, call, *results, policy);
                              });
    }

    // On the CPU thread, after every body hashing job of the message (FIFO): seen.finish()
    // completes the body hashes and builds the header hash inputs.
    static std::vector<vd::SignatureResult> judge_all(const DkimObserver& seen, const std::vector<proto::DnsResult>& keys,
                                                      vd::KeyCache& cache) {
        const auto now = static_cast<std::uint64_t>(std::time(nullptr));
        const std::vector<Candidate> ready = seen.finish();
        std::vector<vd::SignatureResult> results;
        std::size_t next_key = 0;
        for (std::size_t i = 0; i < ready.size(); ++i) {
            const Candidate& c = ready[i];
            if (!seen.candidates()[i].error.empty()) {   // no key was asked for
                results.push_back({vd::Verdict::PermError, c.error, c.signature, false});
                continue;
            }
            const proto::DnsResult& key = keys[next_key++];
            if (!c.error.empty()) {
                results.push_back({vd::Verdict::PermError, c.error, c.signature, false});
                continue;
            }
            auto r = vd::judge_signature(*c.signature, c.header_data, c.body, key_answer(key), now, &cache);
            if (r.verdict == vd::Verdict::TempError) r.reason += " (" + std::string(proto::dns_status_name(key.status)) + ")";
            results.push_back(std::move(r));
        }
        return results;
    }

    // The verdicts, notes and log lines, then the policy. Static: it may run after a reload
    // replaced this plugin object, so it takes the policy by value.
    static void report(hooks::Context& ctx, hooks::HookCall call, const std::vector<vd::SignatureResult>& results,
                       const RejectPolicy& policy) {
        std::vector<DkimNoteEntry> entries;
        bool passed = false, temporary = false, failed = false;
        for (std::size_t i = 0; i < results.size(); ++i) {
            const auto& r = results[i];
            if (ctx.log().enabled(io::Level::Info)) ctx.log().info("dkim: {}", log_line(r, i));
            entries.push_back(note_entry(r));
            passed = passed || r.verdict == vd::Verdict::Pass;
            temporary = temporary || r.verdict == vd::Verdict::TempError;
            failed = failed || (!r.testing && (r.verdict == vd::Verdict::Fail || r.verdict == vd::Verdict::PermError));
        }
        if (auto* txn = ctx.transaction()) {
            txn->notes[std::string(kDkimNote)] = format_dkim_method_note(entries);
            txn->notes[std::string(kDkimResultsNote)] = format_dkim_results_note(entries);
        }
        if (passed || temporary || !failed) return call.declined();
        hooks::Verdict v = policy.apply(ctx, "dkim", "No passing DKIM signature found",
                                         std::to_string(results.size()) + " signature(s), none passed");
        if (v.result != hooks::Result::Declined) {
            const bool temp = v.result == hooks::Result::DenySoft || v.result == hooks::Result::DenySoftDisconnect;
            v.reply = proto::Reply::make(temp ? 451 : 550, temp ? "4.7.20" : "5.7.20", v.text);
        }
        call.resolve(std::move(v));
    }

    RejectPolicy policy_;
    std::optional<dkim::DkimSigner> signer_;   // set by `sign`
    std::optional<std::uint64_t> timeout_ms_;
    std::size_t max_signatures_ = 5;
    // Key records decoded once (shared with judging jobs, which may outlive a reload).
    std::shared_ptr<vd::KeyCache> key_cache_ = std::make_shared<vd::KeyCache>();
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_dkim() { return std::make_unique<Dkim>(); }

}  // namespace asmtpd::plugins
