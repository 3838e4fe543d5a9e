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

#include "core/proto/address.hpp"
#include "core/proto/command.hpp"
#include "core/proto/plugin_list.hpp"
#include "hooks/context.hpp"
#include "hooks/hook.hpp"
#include "hooks/hook_call.hpp"

namespace asmtpd::hooks {

// The arguments of one hook call. Which fields are set depends on the hook:
//   helo/ehlo: text = host.  mail_pre/rcpt_pre: text = raw path, params.
//   mail/rcpt: address, params.  vrfy/help/noop: text = argument.
//   unrecognized_command: verb, text = arguments.  deny/ok: plugin + prior (the verdict).
//   reset_transaction: verb = "RSET" when the client sent RSET (it then runs even when no
//   transaction was open), else empty.
//   queue_post: prior = the queue chain's verdict.  pre_connection/connect: nothing.
struct HookArgs {
    std::string text;
    std::string verb;
    std::optional<proto::Address> address;
    std::vector<proto::EsmtpParam> params;
    std::string plugin;
    std::optional<Verdict> prior;
    // auth, auth_plain, auth_login, auth_cram_md5: verb = mechanism ("PLAIN", "LOGIN",
    // "CRAM-MD5"), text = user (authcid), secret = password (PLAIN/LOGIN) or the client's hex
    // HMAC-MD5 digest (CRAM-MD5), ticket = the CRAM-MD5 challenge as sent (decoded), else empty.
    std::string secret;
    std::string ticket;
    Hook subject = Hook::Count_;     // deny/ok: the hook whose result this is
};

using Handler = std::function<void(Context&, const HookArgs&, HookCall)>;

class Registrar;

struct PluginInit {
    const proto::PluginLine& line;   // name, instance, args, file:line
    const FlatConfig& config;
    const ServerFacts& server;
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
    void on(Hook h, Handler fn) { table_[static_cast<std::size_t>(h)].push_back({&plugin_, std::move(fn)}); }
    template <class P>
    void on(Hook h, void (P::*fn)(Context&, const HookArgs&, HookCall)) {
        P* self = static_cast<P*>(&plugin_);
        on(h, [self, fn](Context& c, const HookArgs& a, HookCall call) { (self->*fn)(c, a, std::move(call)); });
    }

private:
    Plugin& plugin_;
    std::vector<HookEntry>* table_;   // kHookCount lists
};

using PluginFactory = std::unique_ptr<Plugin> (*)();
struct CatalogEntry {
    const char* name;          // as written in config/plugins ("queue/maildir")
    PluginFactory make;
};

}  // namespace asmtpd::hooks
