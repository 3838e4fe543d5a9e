// plugin.hpp - what a plugin is: init(args), then register_hooks(); handlers get the hook's
// arguments, the session Context and a HookCall to resolve.
//
// One Plugin object serves every session of a configuration load (as in qpsmtpd); per-session
// state goes in Context::notes() or the transaction notes, keyed by the plugin's name.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/proto/plugin_list.hpp"
#include "hooks/context.hpp"
#include "hooks/hook.hpp"
#include "hooks/hook_args.hpp"
#include "hooks/hook_call.hpp"

namespace asmtpd::hooks {

using Handler = std::function<void(Context&, const HookArgs&, HookCall)>;

class Registrar;

struct PluginInit {
    const proto::PluginLine& line;   // name, instance, args, file:line
    const FlatConfig& config;
    const ServerFacts& server;
    // The plugin's own asmtpd.yaml section (its catalog entry's settings_key), null when the
    // file has none. Errors about it should name its place: SettingNode::error().
    const proto::SettingNode* settings = nullptr;
};

class Plugin {
public:
    virtual ~Plugin() = default;
    // Parses arguments and reads config files. Returns an error message (the loader prefixes
    // file:line) or nullopt.
    virtual std::optional<std::string> init(const PluginInit&) { return std::nullopt; }
    virtual void register_hooks(Registrar& r) = 0;
    // Local directories where this plugin stores accepted mail (a maildir). The daemon refuses
    // MAIL with 452 4.3.1 while one of their filesystems is below limits.min_free_space.
    virtual std::vector<std::string> storage_paths() const { return {}; }
    // Problems init() found that are worth a start-up warning but not a refusal (a password
    // file other users can read). The loader prefixes file:line and logs them.
    virtual std::vector<std::string> init_warnings() const { return {}; }

    const std::string& name() const { return name_; }              // instance name
    std::chrono::milliseconds timeout() const { return timeout_; }  // per-call deadline
    void set_identity(std::string name, std::chrono::milliseconds timeout) {
        name_ = std::move(name);
        timeout_ = timeout;
    }

protected:
    void set_timeout(std::chrono::milliseconds t) { timeout_ = t; }

private:
    std::string name_;
    std::chrono::milliseconds timeout_{30000};
};

struct HookEntry {
    Plugin* plugin;
    Handler handler;
};

class Registrar {
public:
    Registrar(Plugin& p, std::vector<HookEntry>* table) : plugin_(p), table_(table) {}

    // Typed registration: the handler takes hook H's own argument struct (hook_args.hpp).
    //   r.on<Hook::Mail>(&MyPlugin::on_mail);   void on_mail(Context&, const AddressArgs&, HookCall)
    //   r.on<Hook::Connect>([](Context&, const NoArgs&, HookCall call) { call.declined(); });
    template <Hook H, class P>
    void on(void (P::*fn)(Context&, const ArgsOf<H>&, HookCall)) {
        P* self = static_cast<P*>(&plugin_);
        on<H>([self, fn](Context& c, const ArgsOf<H>& a, HookCall call) { (self->*fn)(c, a, std::move(call)); });
    }
    template <Hook H, class F>
    void on(F fn) {
        add(H, [fn = std::move(fn)](Context& c, const HookArgs& a, HookCall call) {
            fn(c, std::get<ArgsOf<H>>(a), std::move(call));
        });
    }
    // For plugins that serve many hooks through one handler (spp, dso): the handler gets the
    // variant and reads the alternative args_index(h) names.
    void on_any(Hook h, Handler fn) { add(h, std::move(fn)); }

private:
    void add(Hook h, Handler fn) { table_[static_cast<std::size_t>(h)].push_back({&plugin_, std::move(fn)}); }

    Plugin& plugin_;
    std::vector<HookEntry>* table_;   // kHookCount lists
};

using PluginFactory = std::unique_ptr<Plugin> (*)();
struct CatalogEntry {
    const char* name;          // as written in config/plugins ("queue/maildir")
    PluginFactory make;
    // A top-level asmtpd.yaml key this plugin owns (spp: "spp_programs"): the daemon accepts it
    // and hands its value to init() as PluginInit::settings. Null: none.
    const char* settings_key = nullptr;
};

}  // namespace asmtpd::hooks
