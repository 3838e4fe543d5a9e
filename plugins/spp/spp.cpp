// NAME
//   spp - qmail-spp compatible external plugins: runs the programs listed in a qmail-spp
//   `smtpplugins` file at each SMTP step and maps their output onto hook results. The full
//   specification is docs/SPP.md ([C] qmail-spp behaviour, [D] our deviations).
// SYNOPSIS
//   spp [FILE] [missing tempfail|disable] [timeout SECS] [budget SECS] [data_budget SECS]
//       [cwd DIR] [enable always|explicit] [protect NAME,NAME...]
//       [user NAME[:GROUP]] [rlimit_cpu SECS] [rlimit_as BYTES[K|M|G]]
//   FILE         the smtpplugins file (default "smtpplugins"; relative to the config dir)
//   missing      a missing file: "tempfail" (qmail-spp: 421 unable to read controls in place of
//                the greeting, every connection) or "disable" (eQmail: spp off). Unreadable
//                files always give the 421. Without this argument a file missing at start-up
//                (or reload) is a start-up error: qmail-spp's 421-to-everyone is chosen
//                explicitly, never by a typo in the path.
//   timeout      per program (default asmtpd.yaml timeouts.plugin); SIGTERM, SIGKILL 2 s later
//   budget       all programs of one command (default 240 s); data_budget: [data] (100 s)
//   cwd          the programs' working directory, qmail's home (default the config dir);
//                relative program paths and a relative SPPCONFFILE resolve against it
//   enable       "explicit": spp runs only for clients whose environment has ENABLE_SPP (sagredo)
//   protect      more variable names S/U may not touch (PATH and LD_* always are)
//   user, rlimit_cpu, rlimit_as   run the programs as another user (asmtpd must be root) and
//                with resource limits: see spp_sandbox.hpp
// SECTIONS -> HOOKS
//   [connection] connect   [helo] helo+ehlo   [mail] mail   [rcpt] rcpt   [data] data
//   [auth] auth_post: after the auth plugins accepted the credentials, before 235, with
//   SMTPAUTHUSER/SMTPAUTHMETHOD set (eQmail). A refusal leaves the session unauthenticated.
//   [pass] rcpt_post (sagredo/agerstla fork extension): after a recipient passed the WHOLE rcpt
//   chain (every plugin, rcpt_ok's rcpthosts and relay decision) and got its RELAYCLIENT
//   suffix, with SMTPRCPTCOUNT counting it. Not run from spp's own rcpt handler: spp stands
//   first in that chain and answers DECLINED, so it cannot know whether a later plugin accepts.
//   [D] qmail sends a [pass] E text AND "250 ok" (two replies) and keeps the recipient; asmtpd
//   sends the E reply alone and takes the recipient out again, so the envelope matches the
//   reply. C in [pass] changes the stored address, as in sagredo.
//   [X-data_post] data_post (asmtpd extension: the whole message on stdin after the final dot;
//   a real qmail-spp reads that header as a dummy section).
// RESULTS
//   no terminator / N / A -> DECLINED (later plugins, qmail's own checks, still run); O -> OK;
//   E -> DENY or DENYSOFT by the first digit, exact text; R -> the same, then close; D -> close
//   without a reply; program failures -> 451 qmail-spp failure: <line>: <why> (#4.3.0).
//   Put spp first in config/plugins, before rcpt_ok (rcpthosts) and check_badmailfrom, as
//   qmail-spp ran before qmail's own checks (use "rcpt_ok qmail" and "check_badmailfrom at
//   rcpt" for qmail's exact texts and order).
// ENVIRONMENT
//   Per client (tcp.env): NOSPP (any value: off), ENABLE_SPP, SPPCONFFILE (another file),
//   plus whatever the programs expect (GREYLISTING, TARPITCOUNT ...). See spp_env.hpp.
// Rules: never blocks the loop (files are read on the thread pool, children through the
// loop's ChildRunner); a session's running program is killed when the client leaves; the
// file is re-read when its mtime/size/inode change (checked at most once a second), and a
// session keeps the snapshot it started with.
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <fmt/format.h>

#include "hooks/plugin.hpp"
#include "core/proto/plugin_args.hpp"
#include "plugins/common/rcpthosts.hpp"
#include "plugins/common/relay_client.hpp"
#include "plugins/common/child_env.hpp"
#include "plugins/spp/spp_chain.hpp"
#include "plugins/spp/spp_config_cache.hpp"
#include "plugins/spp/spp_sandbox.hpp"

namespace asmtpd::plugins {

namespace {

using namespace spp;
namespace fs = std::filesystem;

constexpr std::uint64_t kDefaultBudgetMs = 240000;
constexpr std::uint64_t kDefaultDataBudgetMs = 100000;

// Per-connection state, keyed by the session's lifetime token.
struct Conn {
    bool active = false;
    std::shared_ptr<const SppConfig> config;   // snapshot taken at connect
    SppState state;
    bool relay_at_connect = false;             // qmail reads RELAYCLIENT once, at connect
    bool relay_exported = false;
    bool auth_exported = false;    // the session's login is in the environment
    bool auth_vars_set = false;    // SMTPAUTHUSER/METHOD are there (for [auth], or exported)
    ClientVars client;             // whom TCPREMOTE* describe (XFORWARD may name another client)
    std::shared_ptr<ChainRun> run;             // the command in progress
};

std::string resolve(const fs::path& base, const std::string& p) {
    fs::path path(p);
    return (path.is_absolute() ? path : base / path).lexically_normal().string();
}

hooks::Verdict unreadable_verdict() {
    hooks::Verdict v = hooks::Verdict::deny_soft_disconnect();
    v.reply = proto::Reply{421, "", {"unable to read controls (#4.3.0)"}};
    v.verbatim = true;
    return v;
}

class Spp final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        std::vector<std::string> args = in.line.args;
        std::string file = "smtpplugins";
        if (args.size() % 2 == 1) {
            file = args.front();
            args.erase(args.begin());
        }
        proto::ArgPairs kv;
        if (auto e = kv.parse(args, {"missing", "timeout", "budget", "data_budget", "cwd", "enable", "protect", "user",
                                    "rlimit_cpu", "rlimit_as"}))
            return e;
        const fs::path cfgdir = fs::absolute(in.server.config_dir).lexically_normal();

        const bool missing_given = kv.get("missing").has_value();
        if (auto m = kv.get("missing")) {
            if (*m != "tempfail" && *m != "disable") return "missing must be tempfail or disable";
            missing_disable_ = *m == "disable";
        }
        if (auto m = kv.get("enable")) {
            if (*m != "always" && *m != "explicit") return "enable must be always or explicit";
            explicit_enable_ = *m == "explicit";
        }
        ChainOptions o;
        o.timeout_ms = static_cast<std::uint64_t>(in.server.plugin_timeout.count());
        o.budget_ms = kDefaultBudgetMs;
        std::uint64_t data_budget = kDefaultDataBudgetMs;
        for (auto [key, target] : {std::pair<const char*, std::uint64_t*>{"timeout", &o.timeout_ms},
                                   {"budget", &o.budget_ms}, {"data_budget", &data_budget}}) {
            if (auto v = kv.get(key)) {
                auto ms = proto::parse_seconds_ms(*v);
                if (!ms || *ms == 0) return fmt::format("{}: expected seconds > 0, got '{}'", key, *v);
                *target = *ms;
            }
        }
        if (auto p = kv.get("protect")) {
            std::string_view list = *p;
            while (!list.empty()) {
                auto comma = list.find(',');
                std::string name(list.substr(0, comma));
                if (!plugins::valid_env_name(name)) return fmt::format("protect: '{}' is not a variable name", name);
                o.protect.push_back(name);
                list.remove_prefix(comma == std::string_view::npos ? list.size() : comma + 1);
            }
        }
        home_ = kv.get("cwd") ? fs::path(resolve(cfgdir, *kv.get("cwd"))) : cfgdir;
        std::error_code ec;
        if (!fs::is_directory(home_, ec)) return fmt::format("cwd: {} is not a directory", home_.string());
        o.home = home_.string();
        Sandbox sandbox;
        if (auto e = parse_sandbox({kv.get("user"), kv.get("rlimit_cpu"), kv.get("rlimit_as")}, ::geteuid(),
                                   ::getegid(), sandbox))
            return e;
        o.run_as = sandbox.run_as;
        if (in.settings)
            if (auto e = parse_program_policies(*in.settings, o.policies)) return *e;
        o.child_limits = sandbox.limits;
        o.server_env = ServerEnv::capture();
        opts_ = std::make_shared<const ChainOptions>(o);
        o.budget_ms = data_budget;
        data_opts_ = std::make_shared<const ChainOptions>(std::move(o));
        config_path_ = resolve(cfgdir, file);
        hostname_ = in.server.hostname;
        rcpthosts_ = plugins::RcptHosts::load(in.config, in.server.hostname);
        // The chain's own deadline must never beat ours (budget, then SIGTERM/SIGKILL and reaping).
        set_timeout(std::chrono::milliseconds(std::max(opts_->budget_ms, data_budget) + 10000));
        if (!missing_given && !fs::exists(config_path_, ec))
            return fmt::format("{} does not exist: create it, or say 'missing tempfail' (421 to every client, "
                               "as qmail-spp) or 'missing disable' (spp off)", config_path_);
        check_at_startup();
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::Connect>(&Spp::on_connect);
        r.on<hooks::Hook::Helo>(&Spp::on_helo);
        r.on<hooks::Hook::Ehlo>(&Spp::on_helo);
        r.on<hooks::Hook::Mail>(&Spp::on_mail);
        r.on<hooks::Hook::Rcpt>(&Spp::on_rcpt);
        r.on<hooks::Hook::RcptPost>(&Spp::on_pass);
        r.on<hooks::Hook::AuthPost>(&Spp::on_auth);
        r.on<hooks::Hook::Data>(&Spp::on_data);
        r.on<hooks::Hook::DataPost>(&Spp::on_data_post);
        r.on<hooks::Hook::ResetTransaction>(&Spp::on_reset);
        r.on<hooks::Hook::Disconnect>(&Spp::on_disconnect);
    }

private:
    using After = std::function<void(hooks::Context&, Conn&, const hooks::Verdict&)>;

    // SPP.md §5.2.10: say loudly what will go wrong, but behave as qmail-spp at run time.
    void check_at_startup() {
        io::Logger logger(io::Level::Warn, stderr);
        io::Log log(&logger, 0, name());
        FileRead read = read_config_file(config_path_);
        if (!read.error.empty()) {
            log.warn("spp: cannot read {}: {}: {}", config_path_, read.error,
                     read.missing && missing_disable_ ? "spp will be off" : "every connection will get 421");
            return;
        }
        auto cfg = std::make_shared<const SppConfig>(parse_spp_config(read.text));
        for (const auto& w : cfg->warnings) log.warn("spp: {}: {}", config_path_, w);
        for (const auto& section : cfg->sections)
            for (const auto& p : section)
                if (!p.shell) {
                    std::string path = program_spec(p, *opts_).program;
                    if (::access(path.c_str(), X_OK) != 0)
                        log.warn("spp: {}:{}: '{}' is not an executable file ({}); it will fail with 451 "
                                 "can't execute", config_path_, p.lineno, p.line, std::strerror(errno));
                }
        for (const auto& [line, policy] : opts_->policies) {
            bool used = false;
            for (const auto& section : cfg->sections)
                for (const auto& p : section) used = used || p.line == line;
            if (!used)
                log.warn("spp: asmtpd.yaml spp_programs: '{}' is not a line of {}; it applies to nothing", line,
                         config_path_);
        }
        cache_.seed(config_path_, read, cfg);
    }

    std::shared_ptr<Conn> find(const hooks::Context& ctx) {
        std::lock_guard<std::mutex> g(conns_m_);
        auto it = conns_.find(ctx.lifetime());
        return it == conns_.end() ? nullptr : it->second;
    }

    // Conn of a session that is gone without a disconnect (should not happen): drop it.
    void purge_locked() {
        for (auto it = conns_.begin(); it != conns_.end();)
            it = it->first.expired() ? conns_.erase(it) : std::next(it);
    }

    void export_relay(hooks::Context& ctx, Conn& c) {
        export_auth(ctx, c);
        if (c.relay_exported || !ctx.connection().relay_client) return;
        ctx.connection().env.emplace("RELAYCLIENT", "");
        c.relay_exported = true;
    }

    // What qmail's AUTH patches give programs once a login succeeded: SMTPAUTHUSER,
    // SMTPAUTHMETHOD, TCPREMOTEINFO = the user, and RELAYCLIENT = "" (no recipient suffix).
    // A login refused after [auth] set its variables leaves nothing behind (SPP.md [D]).
    void export_auth(hooks::Context& ctx, Conn& c) {
        auto& conn = ctx.connection();
        if (!conn.auth_user.empty()) {
            if (c.auth_exported) return;
            set_auth_vars(conn.env, conn.auth_method, conn.auth_user);
            conn.env["TCPREMOTEINFO"] = conn.auth_user;
            conn.env["RELAYCLIENT"] = "";
            c.auth_exported = c.auth_vars_set = c.relay_exported = true;
            return;
        }
        if (!c.auth_vars_set) return;
        conn.env.erase("SMTPAUTHUSER");
        conn.env.erase("SMTPAUTHMETHOD");
        c.auth_vars_set = false;
    }

    // ---- hooks ---------------------------------------------------------------------

    void on_connect(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        // qmail reads RELAYCLIENT (its recipient suffix) before any program can "S" it.
        plugins::note_relay_client(ctx.connection(), ctx.notes());
        auto& env = ctx.connection().env;
        if (env.count("NOSPP")) return call.declined();
        if (explicit_enable_ && !env.count("ENABLE_SPP")) return call.declined();
        auto conn = std::make_shared<Conn>();
        {
            std::lock_guard<std::mutex> g(conns_m_);
            purge_locked();
            conns_[ctx.lifetime()] = conn;
        }
        std::string path = config_path_;
        if (auto it = env.find("SPPCONFFILE"); it != env.end() && !it->second.empty()) path = resolve(home_, it->second);
        hooks::Context* cp = &ctx;
        std::weak_ptr<const void> alive = ctx.lifetime();
        cache_.load(ctx.reactor(), path, [this, cp, alive, conn, path, call](LoadOutcome o) {
            if (alive.expired()) return;   // the session (and so this plugin's runtime) may be gone
            hooks::Context& c = *cp;
            if (!o.config) {
                if (o.missing && missing_disable_) {
                    c.log().info("spp: {} does not exist: spp is off (missing disable)", path);
                    return call.declined();
                }
                c.log().error("spp: cannot read {}: {}: 421 unable to read controls", path, o.error);
                return call.resolve(unreadable_verdict());
            }
            if (o.reloaded) {
                c.log().notice("spp: loaded {} ({} program(s) that run)", path, o.config->runnable());
                for (const auto& w : o.config->warnings) c.log().warn("spp: {}: {}", path, w);
            }
            conn->active = true;
            conn->config = o.config;
            auto& env = c.connection().env;
            add_tcpserver_vars(c.connection(), hostname_, env);
            conn->client.ip = c.connection().remote_ip;
            conn->client.port = c.connection().remote_port;
            conn->relay_at_connect = env.count("RELAYCLIENT") > 0 || c.connection().relay_client;
            export_relay(c, *conn);
            run_section(c, conn, Section::Connection, call);
        });
    }

    void on_helo(hooks::Context& ctx, const hooks::HeloArgs& args, hooks::HookCall call) {
        auto conn = find(ctx);
        if (!conn || !conn->active) return call.declined();
        export_relay(ctx, *conn);
        set_helo_vars(ctx.connection().env, args.host);
        if (conn->state.disabled) return call.declined();
        run_section(ctx, conn, Section::Helo, std::move(call));
    }

    void on_mail(hooks::Context& ctx, const hooks::AddressArgs& args, hooks::HookCall call) {
        auto conn = find(ctx);
        if (!conn || !conn->active) return call.declined();
        export_relay(ctx, *conn);
        if (auto v = deferred_verdict(Section::Mail, conn->state)) return call.resolve(std::move(*v));
        if (conn->state.disabled) return call.declined();
        set_mail_address(ctx.connection().env, args.address);
        run_section(ctx, conn, Section::Mail, std::move(call));
    }

    void on_rcpt(hooks::Context& ctx, const hooks::AddressArgs& args, hooks::HookCall call) {
        auto conn = find(ctx);
        hooks::Transaction* txn = ctx.transaction();
        if (!conn || !conn->active || !txn) return call.declined();
        export_relay(ctx, *conn);
        if (auto v = deferred_verdict(Section::Rcpt, conn->state)) return call.resolve(std::move(*v));
        // COUNTALL: RCPTs that reached the plugin stage in this transaction, this one included.
        std::string& all = txn->notes[name() + ".rcptcountall"];
        std::size_t seen = static_cast<std::size_t>(proto::parse_count(all).value_or(0)) + 1;
        all = std::to_string(seen);
        const auto& a = args.address;
        bool hosts_ok = a.domain.empty() || rcpthosts_.local_domain(a.domain) || conn->relay_at_connect ||
                        ctx.connection().relay_client;
        set_rcpt_counters(ctx.connection().env, txn->recipients.size(), seen, hosts_ok);
        if (conn->state.disabled) return call.declined();
        set_rcpt_address(ctx.connection().env, a);
        run_section(ctx, conn, Section::Rcpt, std::move(call));
    }

    // [pass]: the recipient is in the envelope; only sessions that use the fork extension see
    // the counter move, so a plain qmail-spp 0.42 set-up keeps its [data] environment.
    void on_pass(hooks::Context& ctx, const hooks::AddressArgs& args, hooks::HookCall call) {
        auto conn = find(ctx);
        hooks::Transaction* txn = ctx.transaction();
        if (!conn || !conn->active || !txn) return call.declined();
        if (conn->config->programs(Section::Pass).empty()) return call.declined();
        export_relay(ctx, *conn);
        set_pass_vars(ctx.connection().env, args.address, txn->recipients.size());
        if (conn->state.disabled) return call.declined();
        run_section(ctx, conn, Section::Pass, std::move(call));
    }

    // [auth]: H lines join the buffer like any other section's, so they reach the first
    // message of the session only (SPP.md "Scope of H").
    void on_auth(hooks::Context& ctx, const hooks::AuthArgs& args, hooks::HookCall call) {
        auto conn = find(ctx);
        if (!conn || !conn->active) return call.declined();
        export_relay(ctx, *conn);
        set_auth_vars(ctx.connection().env, args.mechanism, args.user);
        conn->auth_vars_set = true;
        if (conn->state.disabled) return call.declined();
        run_section(ctx, conn, Section::Auth, std::move(call));
    }

    void on_data(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        auto conn = find(ctx);
        if (!conn || !conn->active) return call.declined();
        export_relay(ctx, *conn);
        if (auto v = deferred_verdict(Section::Data, conn->state)) return call.resolve(std::move(*v));
        After pass = [](hooks::Context& c, Conn& cn, const hooks::Verdict& v) {
            if (hooks::is_deny(v.result)) return;
            // qmail: after 354 the H buffer follows the Received line; the H buffer, the
            // deferred errors and the counters start again.
            if (auto* t = c.transaction())
                t->added_headers.insert(t->added_headers.begin(), cn.state.headers.begin(), cn.state.headers.end());
            cn.state.clear_buffers();
        };
        if (conn->state.disabled) {
            pass(ctx, *conn, hooks::Verdict::declined());
            return call.declined();
        }
        run_section(ctx, conn, Section::Data, std::move(call), {}, std::move(pass));
    }

    void on_data_post(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        auto conn = find(ctx);
        hooks::Transaction* txn = ctx.transaction();
        if (!conn || !conn->active || !txn || conn->state.disabled) return call.declined();
        if (conn->config->programs(Section::DataPost).empty()) return call.declined();
        After add = [](hooks::Context& c, Conn& cn, const hooks::Verdict&) {
            if (auto* t = c.transaction())
                t->added_headers.insert(t->added_headers.end(), cn.state.headers.begin(), cn.state.headers.end());
            cn.state.headers.clear();
            cn.state.header_bytes = 0;
        };
        run_section(ctx, conn, Section::DataPost, std::move(call), ChainInput{txn->header_prefix(), txn->body, txn->body_offset},
                    std::move(add));
    }

    void on_reset(hooks::Context& ctx, const hooks::ResetArgs& args, hooks::HookCall call) {
        // Only the client's RSET clears qmail-spp's buffers; a refused MAIL, a new HELO or
        // the end of a queued message do not (SPP.md §4 "Scope of H").
        if (args.client_rset)
            if (auto conn = find(ctx)) conn->state.clear_buffers();
        call.declined();
    }

    void on_disconnect(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        std::shared_ptr<Conn> conn;
        {
            std::lock_guard<std::mutex> g(conns_m_);
            auto it = conns_.find(ctx.lifetime());
            if (it != conns_.end()) {
                conn = it->second;
                conns_.erase(it);
            }
        }
        if (conn && conn->run) conn->run->cancel();   // kills the running group now
        call.declined();
    }

    // ---- running a section ----------------------------------------------------------

    void run_section(hooks::Context& ctx, const std::shared_ptr<Conn>& conn, Section s, hooks::HookCall call,
                     ChainInput input = {}, After after = {}) {
        follow_client(ctx.connection(), conn->client);
        if (conn->config->programs(s).empty()) {
            hooks::Verdict v;
            if (after) after(ctx, *conn, v);
            return call.resolve(std::move(v));
        }
        hooks::Context* cp = &ctx;
        std::weak_ptr<const void> alive = ctx.lifetime();
        std::weak_ptr<Conn> weak_conn = conn;
        conn->run = ChainRun::start(
            ctx.children(), s == Section::Data ? data_opts_ : opts_, s, conn->config, ctx.connection().env, conn->state, alive, ctx.log(),
            std::move(input), [this, cp, alive, weak_conn, s, call, after = std::move(after)](ChainResult r) {
                auto c = weak_conn.lock();
                if (alive.expired() || !c) return;
                complete(*cp, *c, s, r, call, after);
            });
    }

    void complete(hooks::Context& ctx, Conn& conn, Section s, const ChainResult& r, hooks::HookCall call,
                  const After& after) {
        if (conn.state.disabled) ctx.notes()[name() + ".disabled"] = "1";
        VerdictPlan plan = plan_verdict(s, r);
        if ((s == Section::Mail || s == Section::Rcpt || s == Section::Pass) && r.address &&
            !hooks::is_deny(plan.verdict.result)) {
            auto rules = s == Section::Mail ? proto::sender_rules(true) : proto::recipient_rules(true);
            if (auto a = proto::parse_path("<" + *r.address + ">", rules)) plan.verdict.address = *a;
        }
        for (auto& p : plan.prefix) ctx.prefix_reply(std::move(p));
        if (after) after(ctx, conn, plan.verdict);
        call.resolve(std::move(plan.verdict));
    }

    fs::path home_;
    std::string config_path_;
    std::string hostname_;
    bool missing_disable_ = false;
    bool explicit_enable_ = false;
    std::shared_ptr<const ChainOptions> opts_, data_opts_;   // shared by every running chain
    plugins::RcptHosts rcpthosts_;
    ConfigCache cache_;
    std::mutex conns_m_;
    std::map<std::weak_ptr<const void>, std::shared_ptr<Conn>, std::owner_less<std::weak_ptr<const void>>> conns_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_spp() { return std::make_unique<Spp>(); }

}  // namespace asmtpd::plugins
