// NAME
//   auth/dovecot - AUTH PLAIN and LOGIN checked by Dovecot's auth server over its
//   authentication protocol (the socket Postfix's smtpd_sasl_type=dovecot uses).
// SYNOPSIS
//   auth/dovecot [SOCKET] [timeout SECONDS] [service NAME]
//     SOCKET    the auth listener: an absolute path (a Unix socket; default
//               /var/spool/postfix/private/auth, Postfix's usual place for it) or HOST:PORT
//               (an IP literal or localhost, and a port: Dovecot's inet_listener of
//               service auth). Not checked at start-up: Dovecot may start after asmtpd.
//     timeout   seconds for one check, connect and handshake included; default 10. The
//               hook's own deadline is 2 s later, so this plugin's answer comes first.
//     service   the service= name Dovecot's passdb sees (%s in its configuration); default smtp.
// PROTOCOL: one connection per worker, opened by the first AUTH and kept (requests are
//   multiplexed by id; core/client/dovecot_auth.hpp); a broken connection fails what was
//   pending and the next AUTH reconnects. Every check is sent as PLAIN with its initial
//   response (LOGIN's user and password are the same credentials), with service, nologin,
//   lip/rip/lport/rport of the SMTP connection and "secured" when it runs over TLS: Dovecot's
//   disable_plaintext_auth then treats it as Postfix's requests.
// HOOKS auth_plain, auth_login. Dovecot's answer -> result:
//   OK -> OK (235); FAIL -> DENY (535 5.7.8); FAIL with "temp" (code=temp_fail: its passdb is
//   down) -> DENYSOFT (454 4.7.0). Dovecot unreachable, a broken or slow server (no answer
//   within timeout), a protocol error -> DENYSOFT (454 4.7.0 "Temporary authentication
//   failure"): the fail mode is temporary, never an accept. Credentials PLAIN cannot carry (a
//   NUL in the user name or password, an empty one) -> DENY without asking.
// LOG "auth/dovecot: PLAIN accepted for 'alice' (3 ms)", "... refused for 'alice': <Dovecot's
//   reason>", "... temporary failure for 'alice': <why>"; never the password.
// Rules: the client of a worker's loop lives in this plugin's map, keyed by loop; each pending
// answer holds the client, so a reload that drops the plugin lets the checks in flight end.
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "core/client/dovecot_auth.hpp"
#include "core/proto/plugin_args.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/scanner_target.hpp"

namespace asmtpd::plugins {

namespace {

constexpr std::string_view kDefaultSocket = "/var/spool/postfix/private/auth";
constexpr std::uint64_t kDefaultTimeoutMs = 10000;
constexpr std::chrono::milliseconds kDeadlineSlack{2000};
constexpr std::size_t kLogUser = 100;

std::string shown(std::string_view user) { return std::string(user.substr(0, kLogUser)); }

class DovecotAuth final : public hooks::Plugin {
public:
    ~DovecotAuth() override {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& [loop, c] : clients_) c->shutdown();
    }

    std::optional<std::string> init(const hooks::PluginInit& in) override {
        std::vector<std::string> args = in.line.args;
        std::string socket(kDefaultSocket);
        if (!args.empty() && args.size() % 2 == 1) {
            socket = args.front();
            args.erase(args.begin());
        }
        proto::ArgPairs pairs;
        if (auto err = pairs.parse(args, {"timeout", "service"}))
            return *err + " (usage: [SOCKET] [timeout SECONDS] [service NAME])";
        auto target = scanner_target(socket, 0, "socket");
        if (!target) return target.error;
        if (!target.hop->unix_socket && target.hop->port == 0) return "socket '" + socket + "': give HOST:PORT or a path";
        target_ = *target.hop;
        if (auto v = pairs.get("timeout")) {
            auto ms = proto::parse_seconds_ms(*v);
            if (!ms || *ms == 0) return "bad timeout '" + *v + "' (seconds, fractions allowed)";
            timeout_ms_ = *ms;
        }
        if (auto v = pairs.get("service")) {
            if (v->empty() || v->find_first_of(" \t\r\n\001") != std::string::npos) return "bad service '" + *v + "'";
            service_ = *v;
        }
        set_timeout(std::chrono::milliseconds(timeout_ms_) + kDeadlineSlack);
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::AuthPlain>(&DovecotAuth::on_auth);
        r.on<hooks::Hook::AuthLogin>(&DovecotAuth::on_auth);
    }

private:
    std::shared_ptr<client::DovecotAuthClient> client_for(const io::Reactor& reactor) {
        std::lock_guard<std::mutex> lock(mu_);
        auto& c = clients_[reactor.loop_id()];
        if (!c) c = client::DovecotAuthClient::create(reactor, target_, timeout_ms_);
        return c;
    }

    void on_auth(hooks::Context& ctx, const hooks::AuthArgs& a, hooks::HookCall call) {
        const std::string mech = a.mechanism.empty() ? "AUTH" : a.mechanism;
        auto has_nul = [](const std::string& s) { return s.find('\0') != std::string::npos; };
        if (a.user.empty() || a.secret.empty() || has_nul(a.user) || has_nul(a.secret)) {
            ctx.log().notice("auth/dovecot: {} for '{}': credentials PLAIN cannot carry (empty or NUL)", mech,
                             shown(a.user));
            return call.deny();
        }
        const auto& conn = ctx.connection();
        client::DovecotAuthQuery q;
        q.user = a.user;
        q.password = a.secret;
        q.service = service_;
        q.local_ip = conn.local_ip;
        q.remote_ip = conn.remote_ip;
        q.local_port = conn.local_port;
        q.remote_port = conn.remote_port;
        q.secured = conn.tls;
        auto c = client_for(ctx.reactor());
        io::Log log = ctx.log();
        c->authenticate(std::move(q), [c, call, log, mech, who = shown(a.user)](client::DovecotAuthAnswer ans) {
            switch (ans.verdict) {
                case client::DovecotVerdict::Ok:
                    log.info("auth/dovecot: {} accepted for '{}' ({} ms)", mech, who, ans.elapsed_ms);
                    return call.ok();
                case client::DovecotVerdict::Fail:
                    log.notice("auth/dovecot: {} refused for '{}': {} ({} ms)", mech, who, ans.detail, ans.elapsed_ms);
                    return call.deny();
                case client::DovecotVerdict::Temporary:
                    log.error("auth/dovecot: {} temporary failure for '{}': {}: {} ({} ms)", mech, who,
                              c->target().describe(), ans.detail, ans.elapsed_ms);
                    return call.deny_soft();
            }
        });
    }

    client::NextHop target_;
    std::uint64_t timeout_ms_ = kDefaultTimeoutMs;
    std::string service_ = "smtp";
    std::mutex mu_;
    std::map<const void*, std::shared_ptr<client::DovecotAuthClient>> clients_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_auth_dovecot() { return std::make_unique<DovecotAuth>(); }

}  // namespace asmtpd::plugins
