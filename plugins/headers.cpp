// NAME
//   headers - validate the message's header block (qpsmtpd's headers): required fields,
//   duplicated singular fields, and a window around now for the Date field.
// SYNOPSIS
//   headers [require NAME[,NAME...]] [future DAYS] [past DAYS] [reject 0|1|naughty]
//           [reject_type perm|temp|disconnect|temp_disconnect]
//   defaults: require From,Date (RFC 5322 §3.6; qpsmtpd's default is From alone), future and
//   past unset (not checked), reject 1, reject_type perm.
// CHECKS (core/proto/header_checks)
//   - no data at all: "You must send some data first"
//   - a required field missing or empty: "We require a valid From header"
//   - a singular field (Date From Sender Reply-To To Cc Bcc Message-Id In-Reply-To References
//     Subject) more than once: "Only one To header allowed. See RFC 5322, Section 3.6"
//   - Date older than `past` days: "The Date header is too far in the past"; more than
//     `future` days ahead: "The Date header is too far in the future". A Date that does not
//     parse (core/proto/mail_date) is logged and not checked, as qpsmtpd does.
//   A date problem is the reply when there is one, else the first field problem; the log line
//   lists them all.
// HOOKS
//   data_post: reads the header block back from the spool (plugins/common/header_block_read)
//   and refuses per reject / reject_type (DENY: 552 5.7.1, DENYSOFT: 452 4.7.1).
// NOTES
//   transaction "headers": "pass" or "fail, <what>".
// FAIL MODES
//   the spool cannot be read: logged, the message goes on (DECLINED).
// Immune sessions (relay clients, authenticated, whitelisted host or sender) are not checked.
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/proto/header_block.hpp"
#include "core/proto/header_checks.hpp"
#include "core/proto/plugin_args.hpp"
#include "core/proto/text.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/header_block_read.hpp"
#include "plugins/common/immunity.hpp"
#include "plugins/common/reject_policy.hpp"

namespace asmtpd::plugins {

namespace {

constexpr std::string_view kNote = "headers";

class Headers final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        proto::ArgPairs args;
        std::optional<std::uint64_t> unused_timeout;
        auto e = read_policy_args(in.line.args, {"require", "future", "past", "reject", "reject_type"}, args, policy_,
                                  unused_timeout);
        if (e) return e;
        if (auto r = args.get("require")) {
            required_.clear();
            std::size_t start = 0;
            while (start <= r->size()) {
                auto comma = r->find(',', start);
                if (comma == std::string::npos) comma = r->size();
                std::string name = r->substr(start, comma - start);
                if (!proto::valid_field_name(name)) return "require: not a header name: '" + name + "'";
                required_.push_back(name);
                start = comma + 1;
            }
        }
        for (auto [key, days] : {std::pair{"future", &future_days_}, std::pair{"past", &past_days_}}) {
            if (auto v = args.get(key)) {
                auto n = proto::parse_count(*v);
                if (!n) return std::string(key) + " must be a number of days, not '" + *v + "'";
                *days = *n;
            }
        }
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override { r.on<hooks::Hook::DataPost>(&Headers::on_data_post); }

private:
    void on_data_post(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        hooks::Transaction* t = ctx.transaction();
        if (!t || !t->body) return call.declined();
        if (auto why = immunity(ctx); !why.empty()) {
            ctx.log().info("{}: skip, {}", name(), why);
            return call.declined();
        }
        if (t->body->size() == 0) return call.resolve(fail(ctx, "You must send some data first", "no data"));
        auto* c = &ctx;
        read_header_block(ctx, call, kMaxHeaderBlockRead, [this, c, call](std::optional<std::string> block) {
            if (!block) {
                c->log().warn("{}: error, could not read the header block; not checked", name());
                return call.declined();
            }
            call.resolve(check(*c, *block));
        });
    }

    hooks::Verdict check(hooks::Context& ctx, const std::string& block) const {
        const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch()).count();
        auto problems = proto::field_problems(block, required_);
        std::string reply;
        auto date = proto::check_date_window(block, now, past_days_, future_days_);
        using O = proto::DateCheck::Outcome;
        if (date.outcome == O::Unparseable && (past_days_ || future_days_))
            ctx.log().info("{}: skip, date not parseable ({})", name(), date.value);
        if (date.outcome == O::TooOld || date.outcome == O::InFuture) {
            const bool old = date.outcome == O::TooOld;
            reply = old ? "The Date header is too far in the past" : "The Date header is too far in the future";
            problems.insert(problems.begin(), {reply, (old ? "date too old (" : "date in future (") + date.value + ")"});
        }
        if (problems.empty()) {
            ctx.log().info("{}: pass", name());
            if (auto* t = ctx.transaction()) t->notes[std::string(kNote)] = "pass";
            return hooks::Verdict::declined();
        }
        std::string log;
        for (const auto& p : problems) log += (log.empty() ? "" : "; ") + p.log;
        return fail(ctx, problems.front().reply, log);
    }

    hooks::Verdict fail(hooks::Context& ctx, std::string reply, const std::string& log) const {
        if (auto* t = ctx.transaction()) t->notes[std::string(kNote)] = "fail, " + log;
        return policy_.apply(ctx, name(), std::move(reply), log);
    }

    RejectPolicy policy_;   // reject 1, perm
    std::vector<std::string> required_{"From", "Date"};
    std::uint64_t future_days_ = 0, past_days_ = 0;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_headers() { return std::make_unique<Headers>(); }

}  // namespace asmtpd::plugins
