// NAME
//   check_earlytalker (also: earlytalker) - refuse clients that talk before the greeting.
// SYNOPSIS
//   check_earlytalker [wait SECONDS] [action deny|log]
//     wait     how long to hold the greeting back (default 1; fractions allowed: 0.5); must be
//              shorter than the plugin timeout
//     action   deny (default): refuse the early talker; log: only log it and note it
// CONFIG
//   none
// HOOKS
//   connect: waits on a loop timer (never sleeps), then looks at the input the session has not
//   read yet. Any byte there means the client spoke first (a spam engine that does not wait
//   for the 220): DENY "Talking before the greeting" (554 and close), and the connection note
//   "earlytalker" is set to 1. Otherwise DECLINED.
// Rules: the timer belongs to the session (Context::after), so a client that leaves during
// the wait cancels it; the handler never touches the Context after that.
#include <memory>
#include <string>

#include "hooks/plugin.hpp"
#include "core/proto/plugin_args.hpp"

namespace asmtpd::plugins {

namespace {

class CheckEarlytalker final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        proto::ArgPairs pairs;
        if (auto err = pairs.parse(in.line.args, {"wait", "action"})) return *err;
        if (auto w = pairs.get("wait")) {
            auto ms = proto::parse_seconds_ms(*w);
            if (!ms) return "wait wants seconds (e.g. 1 or 0.5), got '" + *w + "'";
            wait_ms_ = *ms;
        }
        if (auto a = pairs.get("action")) {
            if (*a == "deny") deny_ = true;
            else if (*a == "log") deny_ = false;
            else return "action is deny or log, got '" + *a + "'";
        }
        auto budget = static_cast<std::uint64_t>(in.server.plugin_timeout.count());
        if (wait_ms_ >= budget)
            return "wait " + std::to_string(wait_ms_) + " ms is not shorter than the plugin timeout (" +
                   std::to_string(budget) + " ms)";
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::Connect>(&CheckEarlytalker::on_connect);
    }

private:
    void on_connect(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        // std::function must be copyable; the HookCall is not, so the timer shares it.
        bool deny = deny_;
        hooks::Context* c = &ctx;   // valid inside the callback: after() never fires past the session
        ctx.after(wait_ms_, [c, call, deny] {
            std::size_t early = c->unread_input();
            if (early == 0) return call.declined();
            c->notes()["earlytalker"] = "1";
            c->log().info("{} talked before the greeting ({} bytes){}", c->connection().remote_ip, early,
                          deny ? "" : ", logged only");
            if (!deny) return call.declined();
            call.deny("Talking before the greeting");
        });
    }

    std::uint64_t wait_ms_ = 1000;
    bool deny_ = true;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_check_earlytalker() { return std::make_unique<CheckEarlytalker>(); }

}  // namespace asmtpd::plugins
