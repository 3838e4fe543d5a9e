// NAME
//   count_unrecognized_commands - hang up on clients that keep sending unknown verbs.
// SYNOPSIS
//   count_unrecognized_commands [N]     N >= 1, default 4
// CONFIG
//   none
// HOOKS
//   unrecognized_command: counts unknown verbs per connection in the connection notes (key:
//   the plugin's instance name, "count_unrecognized_commands" by default). The Nth one gets
//   DENY_DISCONNECT "Too many unrecognized commands" (521 and close); the ones before it
//   DECLINED, i.e. the default 500.
// Rules: no state in the plugin object (it serves every session); the count lives in notes.
#include <memory>
#include <string>

#include "hooks/plugin.hpp"
#include "core/proto/plugin_args.hpp"

namespace asmtpd::plugins {

namespace {

class CountUnrecognizedCommands final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        const auto& args = in.line.args;
        if (args.size() > 1) return "takes one argument, the limit";
        if (!args.empty()) {
            auto n = proto::parse_count(args[0]);
            if (!n || *n == 0 || *n > 1000000) return "bad limit '" + args[0] + "'";
            limit_ = *n;
        }
        key_ = in.line.instance.empty() ? std::string("count_unrecognized_commands") : in.line.instance;
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::UnrecognizedCommand>(&CountUnrecognizedCommands::on_unrecognized);
    }

private:
    void on_unrecognized(hooks::Context& ctx, const hooks::CommandArgs&, hooks::HookCall call) {
        auto& note = ctx.notes()[key_];
        std::uint64_t count = proto::parse_count(note).value_or(0) + 1;
        note = std::to_string(count);
        if (count >= limit_) {
            ctx.log().info("{} unrecognized commands, disconnecting", count);
            return call.resolve(hooks::Verdict::deny_disconnect("Too many unrecognized commands"));
        }
        call.declined();
    }

    std::uint64_t limit_ = 4;
    std::string key_ = "count_unrecognized_commands";
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_count_unrecognized_commands() {
    return std::make_unique<CountUnrecognizedCommands>();
}

}  // namespace asmtpd::plugins
