// NAME
//   bogus_bounce - refuse bounces that cannot be real (qpsmtpd's bogus_bounce): a message
//   from the null sender (MAIL FROM:<>) must go to exactly one recipient and must not carry a
//   Return-Path other than "<>" (RFC 3834).
// SYNOPSIS
//   bogus_bounce [log|deny|denysoft]
//   bogus_bounce [action log|deny|denysoft] [reject 0|1] [reject_type perm|temp|...]
//   The one-word form is qpsmtpd's: log (the default) only logs, deny refuses (552 5.7.1),
//   denysoft defers (452 4.7.1). In the key/value form, action deny or denysoft refuses as
//   above (in qpsmtpd this form also needs reject 1, else it only logs: asmtpd does what the
//   action says); reject 1 alone refuses with reject_type (default perm); reject 0 logs.
// HOOKS
//   data_post: a null sender with 0 or 2+ recipients: "this bounce message does not have 1
//   recipient"; else, a Return-Path field in the header block (read back from the spool) whose
//   value is neither empty nor "<>": "a bounce return path must be empty (RFC 3834)".
// FAIL MODES
//   the spool cannot be read: the Return-Path test is skipped and logged (DECLINED).
#include <memory>
#include <string>

#include "core/proto/header_checks.hpp"
#include "core/proto/plugin_args.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/header_block_read.hpp"
#include "plugins/common/reject_policy.hpp"

namespace asmtpd::plugins {

namespace {

class BogusBounce final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        policy_.mode = RejectPolicy::Mode::log_only;
        const auto& a = in.line.args;
        if (a.size() == 1) return action(a[0]);
        proto::ArgPairs args;
        std::optional<std::uint64_t> unused_timeout;
        if (auto e = read_policy_args(a, {"action", "reject", "reject_type"}, args, policy_, unused_timeout)) return e;
        if (auto act = args.get("action")) return action(*act);
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override { r.on<hooks::Hook::DataPost>(&BogusBounce::on_data_post); }

private:
    std::optional<std::string> action(const std::string& word) {
        if (word == "log") {
            policy_.mode = RejectPolicy::Mode::log_only;
        } else if (word == "deny" || word == "denysoft") {
            policy_.mode = RejectPolicy::Mode::reject;
            policy_.type = word == "deny" ? hooks::Result::Deny : hooks::Result::DenySoft;
        } else {
            return "action must be log, deny or denysoft, not '" + word + "'";
        }
        return std::nullopt;
    }

    void on_data_post(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        const hooks::Transaction* t = ctx.transaction();
        if (!t || !t->sender || !t->sender->is_null()) return call.declined();
        if (t->recipients.size() != 1) {
            std::string to;
            for (const auto& r : t->recipients) to += (to.empty() ? "" : ",") + r.format();
            return call.resolve(policy_.apply(ctx, name(), "this bounce message does not have 1 recipient",
                                              "bogus bounce to: " + to));
        }
        auto* c = &ctx;
        read_header_block(ctx, call, kMaxHeaderBlockRead, [this, c, call](std::optional<std::string> block) {
            if (!block) {
                c->log().warn("{}: error, could not read the header block; Return-Path not checked", name());
                return call.declined();
            }
            for (const auto& rp : proto::field_values(*block, "Return-Path")) {
                if (rp.empty() || rp == "<>") continue;
                return call.resolve(policy_.apply(*c, name(), "a bounce return path must be empty (RFC 3834)",
                                                  "bounce messages must not have a Return-Path (" + rp + ")"));
            }
            c->log().info("{}: pass, single recipient, empty Return-Path", name());
            call.declined();
        });
    }

    RejectPolicy policy_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_bogus_bounce() { return std::make_unique<BogusBounce>(); }

}  // namespace asmtpd::plugins
