// NAME
//   loop - refuse looping mail: too many Received and Delivered-To fields (qpsmtpd's loop,
//   which mimics qmail-smtpd).
// SYNOPSIS
//   loop [MAX_HOPS]
//   MAX_HOPS: a positive integer, default 100 (qmail-smtpd's). Anything else fails start-up.
// HOOKS
//   data_post: reads the header block back from the spool and counts its Received and
//   Delivered-To fields, plus one for the Received line this server adds (qpsmtpd counts at
//   data_post, where its own Received is already in the header). hops >= MAX_HOPS refuses the
//   message: 554 5.4.6 "Too many hops. This message is looping." (qmail's "too many hops,
//   this message is looping (#5.4.6)").
// FAIL MODES
//   the spool cannot be read: logged, the message goes on (DECLINED).
// Every session is checked, relay clients too: a loop is a loop.
#include <memory>
#include <string>

#include "core/proto/header_checks.hpp"
#include "core/proto/plugin_args.hpp"
#include "core/proto/reply.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/header_block_read.hpp"

namespace asmtpd::plugins {

namespace {

class Loop final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        const auto& a = in.line.args;
        if (a.size() > 1) return std::string("usage: loop [MAX_HOPS]");
        if (a.size() == 1) {
            auto n = proto::parse_count(a[0]);
            if (!n || *n == 0 || *n > 100000) return "MAX_HOPS must be a positive number, not '" + a[0] + "'";
            max_hops_ = *n;
        }
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override { r.on<hooks::Hook::DataPost>(&Loop::on_data_post); }

private:
    void on_data_post(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        if (!ctx.transaction() || !ctx.transaction()->body) return call.declined();
        auto* c = &ctx;
        read_header_block(ctx, call, kMaxHeaderBlockRead, [this, c, call](std::optional<std::string> block) {
            if (!block) {
                c->log().warn("{}: error, could not read the header block; not checked", name());
                return call.declined();
            }
            const std::size_t hops = proto::count_hops(*block) + 1;   // + our own Received
            if (hops < max_hops_) return call.declined();
            c->log().info("{}: fail, {} hops (limit {})", name(), hops, max_hops_);
            hooks::Verdict v = hooks::Verdict::deny("Too many hops. This message is looping.");
            v.reply = proto::Reply::make(554, "5.4.6", "Too many hops. This message is looping.");
            call.resolve(std::move(v));
        });
    }

    std::uint64_t max_hops_ = 100;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_loop() { return std::make_unique<Loop>(); }

}  // namespace asmtpd::plugins
