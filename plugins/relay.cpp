// NAME
//   relay - decide at connect time whether the client may relay (send to any domain).
// SYNOPSIS
//   relay [only]
// CONFIG
//   relayclients     addresses allowed to relay: "192.0.2.7", "10.0.0.0/8", "2001:db8::/32",
//                    or qmail tcprules prefixes "192.168." / "2001:db8:"
//   norelayclients   same format; a match takes relaying away again (wins over the above and
//                    over RELAYCLIENT)
//   A RELAYCLIENT key in the connection's environment (tcp.env) also makes a relay client, and
//   its value is qmail's recipient suffix (appended by the session to accepted recipients,
//   plugins/common/relay_client.hpp).
//   A malformed entry in either file fails start-up, naming the entry.
// HOOKS
//   connect: sets connection().relay_client, always DECLINED. An earlier plugin's true is kept
//   unless norelayclients matches.
//   rcpt (with "only"): DENY "Relaying denied" for clients that are not relay clients; relay
//   clients get DECLINED, so rcpt_ok (or another plugin) still has to OK the recipient.
// Rules: files are read once in init(); IPv4-mapped peers (::ffff:a.b.c.d) match IPv4 entries.
#include <memory>
#include <string>
#include <vector>

#include "core/proto/ip_list.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/relay_client.hpp"

namespace asmtpd::plugins {

namespace {

class Relay final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        for (const auto& a : in.line.args) {
            if (a != "only") return "unknown argument '" + a + "' (only 'only' is known)";
            only_ = true;
        }
        for (auto [file, list] : {std::pair{"relayclients", &allow_}, std::pair{"norelayclients", &deny_}}) {
            std::vector<std::string> bad;
            *list = proto::IpList::parse(in.config.lines(file), &bad);
            if (!bad.empty()) return std::string(file) + ": not an address, network or prefix: '" + bad.front() + "'";
        }
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::Connect>(&Relay::on_connect);
        if (only_) r.on<hooks::Hook::Rcpt>(&Relay::on_rcpt);
    }

private:
    void on_connect(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        auto& conn = ctx.connection();
        plugins::note_relay_client(conn, ctx.notes());   // the RELAYCLIENT suffix, as the session started
        if (conn.env.count("RELAYCLIENT") || allow_.matches(conn.remote_ip)) conn.relay_client = true;
        if (deny_.matches(conn.remote_ip)) conn.relay_client = false;
        if (conn.relay_client) ctx.log().info("relaying allowed for {}", conn.remote_ip);
        call.declined();
    }

    void on_rcpt(hooks::Context& ctx, const hooks::AddressArgs&, hooks::HookCall call) {
        if (ctx.connection().relay_client) return call.declined();
        call.deny("Relaying denied");
    }

    bool only_ = false;
    proto::IpList allow_;
    proto::IpList deny_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_relay() { return std::make_unique<Relay>(); }

}  // namespace asmtpd::plugins
