// NAME
//   auth/checkpassword - AUTH PLAIN, LOGIN and CRAM-MD5 through a checkpassword program
//   (the qmail interface, https://cr.yp.to/checkpwd/interface.html), spawned asynchronously.
// SYNOPSIS
//   auth/checkpassword [timeout SECONDS] [env NAME=VALUE]... PROGRAM [ARG...]
//     Options come first: every word from PROGRAM on is the program's argv, so a program may
//     take "timeout" as an argument of its own.
//     PROGRAM   a path (it must contain a '/'; a relative one is taken from the config directory);
//               an executable file at start-up, or the load fails.
//     ARG...    the program's arguments, conventionally the program it runs on success; default
//               /bin/true. Its exit status becomes the checkpassword exit status, so it must be
//               a program that exits 0.
//     timeout   seconds (fractions allowed) for one check, waiting for a free child slot
//               included; default asmtpd.yaml's plugin timeout. Past it the process group gets
//               SIGTERM (SIGKILL 2 s later). The hook's own deadline is 4 s later, so this
//               plugin's answer comes first.
//     env       NAME=VALUE added to the program's environment (repeatable; later wins).
// PROTOCOL: descriptor 3 carries "user\0password\0\0" for PLAIN and LOGIN (an empty timestamp,
//   as qmail-smtpd's AUTH patches send) and "user\0digest\0challenge\0" for CRAM-MD5 (the same
//   patches' convention: the hex digest in the password field, the challenge with its angle
//   brackets as the timestamp). At most 512 bytes, as the interface allows. stdin and stdout
//   are /dev/null; stderr lines are logged.
// ENVIRONMENT of the program (never the server's own): PATH=/usr/local/bin:/usr/bin:/bin, then
//   tcpserver's PROTO TCPLOCALIP TCPLOCALPORT TCPREMOTEIP TCPREMOTEPORT [TCPREMOTEHOST], then the
//   connection's environment (tcp.env), then the `env` arguments.
// HOOKS auth_plain, auth_login, auth_cram_md5. Exit status -> result:
//   0 -> OK (235); 1 -> DENY (535, bad credentials); 2 (misuse) and 111 (temporary) -> DENYSOFT
//   (454); any other status, a signal, a timeout or a failed spawn -> DENYSOFT. Exit 0 after
//   the write to descriptor 3 failed (the program closed it unread) is DENYSOFT too: PROGRAM
//   is probably not a checkpassword program. (A program that ignores descriptor 3 without
//   closing it cannot be told apart: never configure /bin/true itself as PROGRAM.)
//   Credentials that cannot be framed (a NUL inside, an empty user or password, more than 512
//   bytes, CRAM-MD5 without a challenge) are DENY without a spawn.
// Rules: replies carry the defaults' texts only (nothing about why); details go to the log,
// never the password. The ChildHandle lives in a holder owned by the completion callback, so
// a session that ends first just drops the late answer.
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/common/child_env.hpp"
#include "hooks/plugin.hpp"

namespace asmtpd::plugins {

namespace {

constexpr std::chrono::milliseconds kDeadlineSlack{4000};   // SIGKILL escalation + margin
constexpr std::size_t kInterfaceLimit = 512;                  // bytes on descriptor 3
constexpr std::size_t kLogUser = 100;

std::string_view shown(std::string_view user) { return user.substr(0, kLogUser); }

// What the exit means, and how it is logged.
hooks::Verdict verdict_for(const io::ChildResult& r, const io::Log& log, std::string_view program,
                           std::string_view mech, std::string_view user) {
    auto soft = [&](std::string_view why) {
        log.error("auth/checkpassword: {} {} for '{}': {}", program, mech, shown(user), why);
        return hooks::Verdict::deny_soft();
    };
    if (!r.spawned) return soft(r.timed_out ? "no free child slot before the timeout" : "cannot run: " + r.error);
    if (r.timed_out) return soft("timed out (process group killed)");
    if (r.term_signal != 0) return soft("killed by signal " + std::to_string(r.term_signal));
    switch (r.exit_status) {
        case 0:
            if (r.input_failed) return soft("exited 0 without reading descriptor 3 (not a checkpassword program?)");
            log.info("auth/checkpassword: {} accepted for '{}'", mech, shown(user));
            return hooks::Verdict::ok();
        case 1:
            log.notice("auth/checkpassword: {} refused for '{}'", mech, shown(user));
            return hooks::Verdict::deny();
        case 2: return soft("exit 2: the program says it was misused");
        case 111: return soft("exit 111: temporary failure");
        default: return soft("unexpected exit " + std::to_string(r.exit_status));
    }
}

struct Pending {
    hooks::HookCall call;
    io::ChildHandle child;
    ~Pending() {
        if (!call.resolved()) call.deny_soft();   // runner torn down at shutdown
    }
};

class Checkpassword final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        const auto& args = in.line.args;
        std::uint64_t timeout_ms = static_cast<std::uint64_t>(in.server.plugin_timeout.count());
        std::size_t i = 0;
        for (; i < args.size() && plugins::is_child_option(args[i]); ++i)
            if (auto e = plugins::take_child_option(args, i, timeout_ms, extra_env_)) return e;
        if (i >= args.size()) return "usage: [timeout SECONDS] [env NAME=VALUE]... PROGRAM [ARG...]";
        if (args[i].find('/') == std::string::npos)
            return "program '" + args[i] + "' must be a path (no PATH search)";
        program_ = in.server.path(args[i]);   // a relative one from the config directory
        struct stat st {};
        if (::stat(program_.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || ::access(program_.c_str(), X_OK) != 0)
            return "program '" + program_ + "' is not executable";
        program_args_.assign(args.begin() + static_cast<std::ptrdiff_t>(i) + 1, args.end());
        if (program_args_.empty()) program_args_.push_back("/bin/true");
        timeout_ms_ = timeout_ms;
        set_timeout(std::chrono::milliseconds(timeout_ms) + kDeadlineSlack);
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::AuthPlain>(&Checkpassword::on_auth);
        r.on<hooks::Hook::AuthLogin>(&Checkpassword::on_auth);
        r.on<hooks::Hook::AuthCramMd5>(&Checkpassword::on_cram);
    }

private:
    void on_auth(hooks::Context& ctx, const hooks::AuthArgs& a, hooks::HookCall call) {
        check(ctx, a.mechanism.empty() ? "AUTH" : a.mechanism, a.user, a.secret, {}, std::move(call));
    }
    void on_cram(hooks::Context& ctx, const hooks::AuthArgs& a, hooks::HookCall call) {
        // Without a challenge the digest would be checked as a plain password: never.
        if (a.ticket.empty()) {
            ctx.log().error("auth/checkpassword: CRAM-MD5 for '{}' without a challenge", shown(a.user));
            return call.deny();
        }
        check(ctx, "CRAM-MD5", a.user, a.secret, a.ticket, std::move(call));
    }

    void check(hooks::Context& ctx, std::string mech, const std::string& user, const std::string& secret,
               const std::string& stamp, hooks::HookCall call) {
        // A NUL would shift the fields (a forged timestamp); the interface caps the size.
        auto has_nul = [](const std::string& s) { return s.find('\0') != std::string::npos; };
        if (user.empty() || secret.empty() || has_nul(user) || has_nul(secret) || has_nul(stamp) ||
            user.size() + secret.size() + stamp.size() + 3 > kInterfaceLimit) {
            ctx.log().notice("auth/checkpassword: {} for '{}': credentials cannot be passed on (empty, NUL or "
                             "over {} bytes)", mech, shown(user), kInterfaceLimit);
            return call.deny();
        }
        std::string fd3 = user;
        fd3 += '\0';
        fd3 += secret;
        fd3 += '\0';
        fd3 += stamp;
        fd3 += '\0';

        io::ChildSpec spec;
        spec.program = program_;
        spec.args = program_args_;
        spec.env = plugins::tcpserver_environment(ctx.connection(), extra_env_);
        spec.capture_stdout = false;
        spec.input_fds.push_back({3, std::move(fd3)});
        spec.timeout_ms = timeout_ms_;
        io::Log log = ctx.log();
        spec.on_stderr = [log](std::string_view line) { log.warn("auth/checkpassword: stderr: {}", line); };

        auto pending = std::make_shared<Pending>();
        pending->call = std::move(call);
        auto done = [pending, log, program = program_, mech, who = std::string(shown(user))](io::ChildResult r) {
            pending->call.resolve(verdict_for(r, log, program, mech, who));
            pending->child = io::ChildHandle();   // breaks the holder <-> callback cycle
        };
        pending->child = ctx.children().run(std::move(spec), std::move(done));
    }

    std::string program_;
    std::vector<std::string> program_args_;
    std::uint64_t timeout_ms_ = 30000;
    plugins::EnvMap extra_env_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_auth_checkpassword() { return std::make_unique<Checkpassword>(); }

}  // namespace asmtpd::plugins
