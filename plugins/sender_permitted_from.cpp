// NAME
//   sender_permitted_from - SPF (RFC 7208) for the MAIL FROM identity, or postmaster@<HELO>
//   when the reverse-path is null.
// SYNOPSIS
//   sender_permitted_from [reject N] [spf_deny 1|2]
//     reject 0..6 (qpsmtpd's levels; default 0, or the number in config/spfbehavior):
//       0 log only   1 annotate only (header + note)   2 also defer temperror and fail
//       3 reject fail, defer softfail   4 reject softfail, defer permerror
//       5 reject neutral   6 reject none and permerror
//     spf_deny 1 / 2: qpsmtpd's older spelling of reject 3 / 4.
// CONFIG
//   spfbehavior   the reject level when the plugin line gives none (qpsmtpd's file)
// HOOKS
//   mail: skips immune sessions (relay clients, authenticated users, whitelisted hosts and
//   senders: plugins/common/immunity.hpp). Otherwise runs check_host() (core/proto/spf_eval)
//   on the loop's resolver, then adds "Received-SPF:" to the transaction's headers, writes
//   the transaction note "spf" (core/proto/spf_header.hpp: "RESULT identity=... domain=...
//   reason=...") and answers per core/proto/spf_policy.hpp: DECLINED, DENYSOFT 451 4.7.2x or
//   DENY 550 5.7.2x with qpsmtpd's texts ("SPF - forgery: ..."). A temperror (DNS failure or
//   the deadline) is deferred from level 2 up, accepted below.
// Rules: every DNS question carries the time left of one budget, 80% of the plugin timeout,
// so the result (temperror at worst) always arrives before the chain's deadline. Nothing is
// touched after the chain stopped waiting for this call or the session ended.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <memory>
#include <string>

#include "core/proto/dns_message.hpp"
#include "core/proto/plugin_args.hpp"
#include "core/proto/spf_eval.hpp"
#include "core/proto/spf_header.hpp"
#include "core/proto/spf_policy.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/immunity.hpp"

namespace asmtpd::plugins {

namespace {

namespace spf = proto::spf;
using Clock = std::chrono::steady_clock;

inline constexpr const char* kNoteKey = "spf";

proto::DnsType dns_type(spf::QType t) {
    switch (t) {
        case spf::QType::A: return proto::DnsType::a;
        case spf::QType::AAAA: return proto::DnsType::aaaa;
        case spf::QType::MX: return proto::DnsType::mx;
        case spf::QType::TXT: return proto::DnsType::txt;
        case spf::QType::PTR: return proto::DnsType::ptr;
    }
    return proto::DnsType::txt;
}

// The resolver's answer as the evaluator's data; MX exchanges in preference order.
spf::DnsAnswer to_answer(const proto::DnsResult& r) {
    spf::DnsAnswer a;
    switch (r.status) {
        case proto::DnsStatus::answer: a.status = spf::DnsStatus::Answer; break;
        case proto::DnsStatus::nxdomain: a.status = spf::DnsStatus::NxDomain; break;
        case proto::DnsStatus::nodata: a.status = spf::DnsStatus::NoData; break;
        case proto::DnsStatus::servfail: a.status = spf::DnsStatus::ServFail; break;
        case proto::DnsStatus::timeout: a.status = spf::DnsStatus::Timeout; break;
    }
    auto records = r.records;
    std::stable_sort(records.begin(), records.end(),
                     [](const proto::DnsRecord& x, const proto::DnsRecord& y) { return x.preference < y.preference; });
    for (auto& rec : records) a.records.push_back(std::move(rec.value));
    return a;
}

// One evaluation in flight: the evaluator, the call to resolve, and the session it serves.
struct Run {
    spf::Evaluator evaluator;
    hooks::HookCall call;
    hooks::Context* ctx;
    std::weak_ptr<const void> alive;
    Clock::time_point deadline;
    std::string envelope_from;
    int reject = 0;

    Run(spf::Request r, hooks::HookCall c, hooks::Context& x) : evaluator(std::move(r)), call(std::move(c)), ctx(&x) {}
};

class SenderPermittedFrom final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        proto::ArgPairs args;
        if (auto e = args.parse(in.line.args, {"reject", "spf_deny"})) return e;
        if (auto r = args.get("reject")) {
            auto n = proto::parse_count(*r);
            if (!n || *n > spf::kMaxRejectLevel) return "reject must be 0..6, not '" + *r + "'";
            reject_ = int(*n);
        } else if (auto d = args.get("spf_deny")) {
            if (*d != "1" && *d != "2") return "spf_deny must be 1 or 2, not '" + *d + "'";
            reject_ = *d == "1" ? 3 : 4;
        } else if (auto lines = in.config.lines("spfbehavior"); !lines.empty()) {
            auto n = proto::parse_count(lines.front());
            if (!n || *n > spf::kMaxRejectLevel) return "spfbehavior must be 0..6, not '" + lines.front() + "'";
            reject_ = int(*n);
        }
        // A budget below the plugin timeout, so a temperror beats the chain's DENYSOFT.
        budget_ = std::chrono::duration_cast<std::chrono::milliseconds>(in.server.plugin_timeout * 4 / 5);
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override { r.on<hooks::Hook::Mail>(&SenderPermittedFrom::on_mail); }

private:
    void on_mail(hooks::Context& ctx, const hooks::AddressArgs& args, hooks::HookCall call) {
        if (auto why = immunity(ctx); !why.empty()) {
            ctx.log().info("skip, immune ({})", why);
            return call.declined();
        }
        const auto& conn = ctx.connection();
        spf::Request req;
        req.identity = spf::Identity::MailFrom;
        req.ip = conn.remote_ip;
        req.sender = args.address.is_null() ? std::string() : args.address.local + "@" + args.address.domain;
        req.helo = conn.helo_host;
        req.receiver = ctx.server().hostname;
        req.now = static_cast<std::int64_t>(std::time(nullptr));
        auto run = std::make_shared<Run>(std::move(req), std::move(call), ctx);
        run->alive = ctx.lifetime();
        run->deadline = Clock::now() + budget_;
        run->envelope_from = args.address.bare();
        run->reject = reject_;
        advance(run, run->evaluator.start());
    }

    // Asks the next question, or finishes. Runs again from the resolver's callback.
    static void advance(const std::shared_ptr<Run>& run, spf::Step step) {
        if (step.outcome) return finish(*run, *step.outcome);
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(run->deadline - Clock::now()).count();
        if (left <= 0) return advance(run, run->evaluator.resume(spf::DnsAnswer::status_only(spf::DnsStatus::Timeout)));
        run->ctx->dns().query(step.query->name, dns_type(step.query->type), std::uint64_t(left),
                              [run](const proto::DnsResult& r) {
                                  if (run->alive.expired() || !run->call.wanted()) return;
                                  advance(run, run->evaluator.resume(to_answer(r)));
                              });
    }

    static void finish(Run& run, const spf::Outcome& o) {
        hooks::Context& ctx = *run.ctx;
        const auto& conn = ctx.connection();
        ctx.log().info("spf {} for {} ({}): {} [{} lookups, {} void, {} queries]", spf::to_string(o.result),
                       o.sender, spf::to_string(o.identity), spf::reason(o), o.lookups, o.void_lookups, o.queries);
        if (auto* t = ctx.transaction()) {
            t->notes[kNoteKey] = spf::spf_note(o);
            spf::HeaderFacts f{conn.remote_ip, run.envelope_from, conn.helo_host, ctx.server().hostname};
            t->added_headers.push_back("Received-SPF: " + spf::received_spf(o, f));
        }
        spf::Decision d = spf::decide(run.reject, o);
        if (d.action == spf::Action::Accept) return run.call.declined();
        hooks::Verdict v = d.action == spf::Action::Defer ? hooks::Verdict::deny_soft() : hooks::Verdict::deny();
        v.reply = proto::Reply::make(d.code, d.esc, d.text);
        run.call.resolve(std::move(v));
    }

    int reject_ = 0;
    std::chrono::milliseconds budget_{24000};
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_sender_permitted_from() { return std::make_unique<SenderPermittedFrom>(); }

}  // namespace asmtpd::plugins
