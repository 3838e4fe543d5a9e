// NAME
//   queue/discard - accept every message and throw it away.
// SYNOPSIS
//   queue/discard          (no arguments)
// CONFIG
//   none
// HOOKS
//   queue: OK "Discarded" (250), and a notice in the log for each message.
// Rules: for tests and benchmarks only. It breaks the "never lose mail" promise on purpose, so
// it says so loudly at start-up (PluginInit has no Log, so it writes through a stderr Logger).
#include <memory>
#include <string>

#include "hooks/plugin.hpp"

namespace asmtpd::plugins {

namespace {

class Discard final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        if (!in.line.args.empty()) return "takes no arguments";
        io::Logger stderr_logger(io::Level::Warn);
        io::Log(&stderr_logger, 0, in.line.instance)
            .warn("{}: every accepted message is thrown away (queue/discard)", in.line.where());
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override { r.on<hooks::Hook::Queue>(&Discard::on_queue); }

private:
    void on_queue(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        const auto* txn = ctx.transaction();
        ctx.log().notice("queue/discard: message {} thrown away", txn ? txn->id : std::string("?"));
        call.ok("Discarded");
    }
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_queue_discard() { return std::make_unique<Discard>(); }

}  // namespace asmtpd::plugins
