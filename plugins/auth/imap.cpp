// NAME
//   auth/imap - AUTH PLAIN and LOGIN checked by an IMAP LOGIN against an IMAP server
//   (qpsmtpd's auth/auth_imap).
// SYNOPSIS
//   auth/imap [HOST [PORT]] [timeout SECONDS] [tls yes|no] [tls_verify yes|no] [ca_file PATH]
//             [tls_name NAME]
//     HOST      an IP literal or localhost (no DNS on this path); default 127.0.0.1, as
//               qpsmtpd's localhost.
//     PORT      default 143.
//     timeout   seconds for one check (connect, TLS, greeting, LOGIN's answer); default 10.
//               The hook's own deadline is 2 s later, so this plugin's answer comes first.
//     tls       imaps: TLS from the first byte. Default yes on port 993 (qpsmtpd's rule), no
//               elsewhere. No STARTTLS.
//     tls_verify  default yes: the certificate must verify against ca_file (default the
//               system store) and match tls_name (default HOST, an IP literal checked
//               against the certificate's IP addresses). no: encrypted, unauthenticated.
// PROTOCOL: one connection per check (over TLS with tls): "a1 LOGIN user password", "a2 LOGOUT" sent at once
//   (arguments quoted, or LITERAL+ literals for 8-bit text; core/proto/imap_login), the answer
//   read up to a1's tagged line; then the connection is closed.
// HOOKS auth_plain, auth_login. The IMAP answer -> result:
//   a1 OK -> OK (235). a1 NO -> DECLINED, as qpsmtpd's plugin: a later auth plugin may still
//   accept; with none, 535 5.7.8. a1 NO with a code that says the check could not be made
//   (UNAVAILABLE, SERVERBUG, LIMIT, INUSE, PRIVACYREQUIRED), a1 BAD, BYE, a server that is
//   not IMAP, a failed TLS handshake or certificate check, unreachable or silent past
//   timeout -> DENYSOFT (454 4.7.0 "Temporary
//   authentication failure"). Credentials LOGIN cannot carry (NUL, CR, LF, empty) -> DECLINED
//   without connecting.
// LOG "auth/imap: LOGIN accepted for 'alice' (5 ms)", "... refused for 'alice': [CODE] text",
//   "... temporary failure for 'alice': 127.0.0.1:143: <why>"; never the password.
// Rules: the exchange is core/client/scan_exchange (one deadline, a capped reply); its answer
// reaches the HookCall only, so a session that ended meanwhile just drops it.
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include <fmt/format.h>

#include "core/client/client_tls.hpp"
#include "core/client/scan_exchange.hpp"
#include "core/proto/imap_login.hpp"
#include "core/proto/plugin_args.hpp"
#include "hooks/plugin.hpp"
#include "plugins/common/scanner_target.hpp"

namespace asmtpd::plugins {

namespace {

constexpr std::uint16_t kImapPort = 143;
constexpr std::uint16_t kImapsPort = 993;
constexpr std::uint64_t kDefaultTimeoutMs = 10000;
constexpr std::chrono::milliseconds kDeadlineSlack{2000};
constexpr std::size_t kMaxReply = 64 * 1024;
constexpr std::size_t kLogUser = 100;
constexpr std::string_view kTag = "a1";

std::string shown(std::string_view user) { return std::string(user.substr(0, kLogUser)); }

bool temporary(const proto::ImapLoginReply& r) {
    return proto::imap_code_is_temporary(r.code) || r.code == "PRIVACYREQUIRED";
}

class ImapAuth final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        std::vector<std::string> args = in.line.args;
        std::string host = "127.0.0.1";
        std::string port;
        auto positional = [&] {
            return !args.empty() && args.front() != "timeout" && args.front() != "tls" &&
                   args.front() != "tls_verify" && args.front() != "ca_file" && args.front() != "tls_name";
        };
        if (positional()) {
            host = args.front();
            args.erase(args.begin());
        }
        if (positional()) {
            port = args.front();
            args.erase(args.begin());
        }
        proto::ArgPairs pairs;
        if (auto err = pairs.parse(args, {"timeout", "tls", "tls_verify", "ca_file", "tls_name"}))
            return *err + " (usage: [HOST [PORT]] [timeout SECONDS] [tls yes|no] [tls_verify yes|no] [ca_file PATH] "
                          "[tls_name NAME])";
        if (host.find('/') != std::string::npos) return "host '" + host + "': IMAP needs HOST and PORT, not a path";
        std::uint16_t port_number = kImapPort;
        if (!port.empty()) {
            auto n = proto::parse_count(port);
            if (!n || *n == 0 || *n > 65535) return "bad port '" + port + "'";
            port_number = static_cast<std::uint16_t>(*n);
        }
        auto target = scanner_target(host, port_number, "host");
        if (!target) return target.error;
        if (target.hop->port != port_number && !port.empty())
            return "give the port once (HOST PORT or HOST:PORT)";
        target_ = *target.hop;
        if (auto v = pairs.get("timeout")) {
            auto ms = proto::parse_seconds_ms(*v);
            if (!ms || *ms == 0) return "bad timeout '" + *v + "' (seconds, fractions allowed)";
            timeout_ms_ = *ms;
        }
        auto yes_no = [&](const char* key, bool dflt) -> std::optional<bool> {
            auto v = pairs.get(key);
            if (!v) return dflt;
            if (*v == "yes" || *v == "1") return true;
            if (*v == "no" || *v == "0") return false;
            return std::nullopt;
        };
        const auto tls = yes_no("tls", target_.port == kImapsPort);
        const auto verify = yes_no("tls_verify", true);
        if (!tls) return "bad tls '" + *pairs.get("tls") + "' (yes or no)";
        if (!verify) return "bad tls_verify '" + *pairs.get("tls_verify") + "' (yes or no)";
        if (!*tls && (pairs.has("tls_verify") || pairs.has("ca_file") || pairs.has("tls_name")))
            return "tls_verify, ca_file and tls_name need tls (port 993 or tls yes)";
        if (*tls) {
            std::string error;
            tls_ = client::client_tls_context(*verify, in.server.path(pairs.get("ca_file").value_or("")), error);
            if (!tls_) return error;
            tls_name_ = pairs.get("tls_name").value_or(target_.host == "localhost" ? "localhost" : target_.host);
        }
        set_timeout(std::chrono::milliseconds(timeout_ms_) + kDeadlineSlack);
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::AuthPlain>(&ImapAuth::on_auth);
        r.on<hooks::Hook::AuthLogin>(&ImapAuth::on_auth);
    }

private:
    void on_auth(hooks::Context& ctx, const hooks::AuthArgs& a, hooks::HookCall call) {
        const std::string mech = a.mechanism.empty() ? "AUTH" : a.mechanism;
        auto command = proto::imap_login_command(kTag, "a2", a.user, a.secret);
        if (!command) {
            ctx.log().notice("auth/imap: {} for '{}': credentials IMAP LOGIN cannot carry", mech, shown(a.user));
            return call.declined();
        }
        client::ScanRequest req;
        req.target = target_;
        req.head = std::move(*command);
        req.connect_ms = timeout_ms_;
        req.total_ms = timeout_ms_;
        req.max_reply = kMaxReply;
        req.tls = tls_;
        req.tls_name = tls_name_;
        req.reply_complete = [](std::string_view reply) {
            return proto::read_imap_login_reply(reply, kTag).status != proto::ImapLoginStatus::Incomplete;
        };
        io::Log log = ctx.log();
        auto done = [call, log, mech, who = shown(a.user), where = target_.describe()](client::ScanOutcome out) {
            auto soft = [&](const std::string& why) {
                log.error("auth/imap: {} temporary failure for '{}': {}: {} ({} ms)", mech, who, where, why,
                          out.elapsed_ms);
                call.deny_soft();
            };
            const auto r = proto::read_imap_login_reply(out.reply, kTag);
            using S = proto::ImapLoginStatus;
            switch (r.status) {
                case S::Ok:
                    log.info("auth/imap: {} accepted for '{}' ({} ms)", mech, who, out.elapsed_ms);
                    return call.ok();
                case S::No:
                    if (temporary(r)) return soft(fmt::format("NO [{}] {}", r.code, r.text));
                    log.notice("auth/imap: {} refused for '{}': [{}] {} ({} ms)", mech, who, r.code, r.text,
                               out.elapsed_ms);
                    return call.declined();
                case S::Bad: return soft("LOGIN answered BAD: " + r.text);
                case S::Bye: return soft("the server said BYE: " + r.text);
                case S::Garbage: return soft("not an IMAP server: '" + r.text + "'");
                case S::Incomplete: return soft(out.ok() ? "closed before answering LOGIN" : out.error);
            }
        };
        client::run_scan(ctx.reactor(), std::move(req), std::move(done));
    }

    client::NextHop target_;
    std::uint64_t timeout_ms_ = kDefaultTimeoutMs;
    std::shared_ptr<io::TlsContext> tls_;   // imaps; null: plain IMAP
    std::string tls_name_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_auth_imap() { return std::make_unique<ImapAuth>(); }

}  // namespace asmtpd::plugins
