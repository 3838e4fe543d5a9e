// plugtest_dso.cpp - runs one shared-object plugin (the `dso` plugin of the builtin catalog,
// exactly as a `dso FILE ...` line in config/plugins would) for one hook, through a small
// hooks::Context of its own on the private loop.
// Never: call the plugin's handlers for other hooks (an IndiMail rcpt test must not run
// mail_func first), or leave the loop with work in flight (the loop runs until idle at exit).
#include <array>
#include <ctime>
#include <list>
#include <memory>

#include "core/io/child_process.hpp"
#include "core/io/spool.hpp"
#include "core/io/timer.hpp"
#include "core/proto/plugin_list.hpp"
#include "core/smtp/received.hpp"
#include "hooks/hook_call.hpp"
#include "hooks/plugin.hpp"
#include "plugins/builtin.hpp"
#include "tools/plugtest/plugtest.hpp"

namespace asmtpd::plugtest {

namespace {

class PlugContext final : public hooks::Context {
public:
    PlugContext(Env& env) : env_(env), config_(env.config_dir), children_(env.loop, 4) {}
    ~PlugContext() override {
        timers_.clear();
        dns_.reset();
        resolver_.reset();
    }

    proto::ConnectionInfo& connection() override { return env_.conn; }
    hooks::Transaction* transaction() override { return txn ? &*txn : nullptr; }
    hooks::Notes& notes() override { return notes_; }
    const hooks::FlatConfig& config() const override { return config_; }
    const hooks::ServerFacts& server() const override { return env_.facts; }
    uv_loop_t* loop() override { return env_.loop; }
    const io::Log& log() const override { return env_.log; }
    std::size_t unread_input() const override { return 0; }
    void after(std::uint64_t ms, std::function<void()> fn) override {
        timers_.push_back(std::make_unique<io::Timer>(env_.loop));
        timers_.back()->start(ms, std::move(fn));
    }
    std::weak_ptr<const void> lifetime() const override { return alive_; }
    io::ChildRunner& children() override { return children_; }
    io::DnsScope& dns() override {
        if (!dns_) {
            io::ResolverOptions o;
            o.servers = env_.dns_servers;
            std::string error;
            resolver_ = io::Resolver::create(env_.loop, o, error);
            if (!resolver_) {   // settings were validated; c-ares itself failed: the defaults
                env_.log.error("dns: {}", error);
                resolver_ = io::Resolver::create(env_.loop, io::ResolverOptions{}, error);
            }
            dns_ = std::make_unique<io::DnsScope>(*resolver_);
        }
        return *dns_;
    }
    void set_envelope_address(proto::Address a) override { rewritten = std::move(a); }
    void prefix_reply(std::string line) override { prefix.push_back(std::move(line)); }

    std::optional<hooks::Transaction> txn;
    std::optional<proto::Address> rewritten;
    std::vector<std::string> prefix;

private:
    Env& env_;
    hooks::FlatConfig config_;
    hooks::Notes notes_;
    io::ChildRunner children_;
    std::shared_ptr<const void> alive_ = std::make_shared<int>(0);
    std::list<std::unique_ptr<io::Timer>> timers_;
    std::unique_ptr<io::Resolver> resolver_;   // made on first dns()
    std::unique_ptr<io::DnsScope> dns_;
};

class Sink final : public hooks::HookSink {
public:
    void hook_resolved(std::uint64_t, hooks::Verdict v) override {
        if (!verdict) verdict = std::move(v);
    }
    void hook_double_resolve(std::uint64_t) override {}
    bool hook_wanted(std::uint64_t) const override { return !verdict; }
    std::optional<hooks::Verdict> verdict;
};

}  // namespace

std::optional<std::string> run_dso(const Options& o, Env& env, Report& r) {
    r.plugin = "dso";
    for (const auto& a : o.dso_args) r.plugin += " " + a;
    PlugContext ctx(env);

    proto::PluginLine line;
    line.name = "dso";
    line.instance = "dso";
    line.args = o.dso_args;
    line.file = "(command line)";
    std::unique_ptr<hooks::Plugin> plugin;
    for (const auto& e : plugins::builtin_plugins())
        if (line.name == e.name) plugin = e.make();
    if (!plugin) return std::string("this build has no dso plugin");
    plugin->set_identity(line.instance, env.facts.plugin_timeout);
    if (auto err = plugin->init(hooks::PluginInit{line, ctx.config(), env.facts})) return *err;
    std::array<std::vector<hooks::HookEntry>, hooks::kHookCount> table;
    hooks::Registrar reg(*plugin, table.data());
    plugin->register_hooks(reg);
    const auto& entries = table[static_cast<std::size_t>(o.hook)];

    // The session as it stands when the hook runs.
    if (o.hook != hooks::Hook::Connect && o.hook != hooks::Hook::Helo && o.hook != hooks::Hook::Ehlo) {
        env.conn.hello = proto::Hello::Ehlo;
        env.conn.helo_host = o.helo;
        ctx.txn.emplace();
        ctx.txn->number = 1;
        ctx.txn->id = "plugtest.1";
        if (o.hook != hooks::Hook::Mail) ctx.txn->sender = o.from;
        if (o.hook == hooks::Hook::Data || o.hook == hooks::Hook::DataPost) ctx.txn->recipients = o.rcpts;
    }
    if (o.hook == hooks::Hook::DataPost) {
        std::string error;
        std::string text = message_text(o, error);
        if (!error.empty()) return error;
        ctx.txn->body = io::Spool::create(env.loop, env.tmp_dir, text.size() + 1);
        ctx.txn->body->append(text);
        ctx.txn->received = smtp::received_header(env.conn, *ctx.txn, env.facts.hostname, std::time(nullptr));
    }
    const std::size_t headers_before = ctx.txn ? ctx.txn->added_headers.size() : 0;

    std::uint64_t token = 1;
    auto call = [&](hooks::HookArgs args, std::string label) {
        Step st;
        st.label = std::move(label);
        auto before = env.conn.env;
        ctx.rewritten.reset();
        ctx.prefix.clear();
        for (const auto& entry : entries) {
            auto sink = std::make_shared<Sink>();
            entry.handler(ctx, args, hooks::HookCall(sink, ++token));
            while (!sink->verdict && uv_run(env.loop, UV_RUN_ONCE) != 0) {
            }
            if (!sink->verdict) {
                st.verdict = hooks::Verdict::deny_soft("the plugin never answered");
                break;
            }
            st.verdict = *sink->verdict;
            if (st.verdict.result != hooks::Result::Declined) break;
        }
        st.prefix = ctx.prefix;
        if (ctx.rewritten) st.address = ctx.rewritten;
        st.env_changes = env_diff(before, env.conn.env);
        r.steps.push_back(std::move(st));
        return r.steps.back().verdict;
    };

    if (entries.empty())
        r.notes.push_back("the plugin has no function for the " + std::string(hook_label(o.hook)) +
                          " hook: it is never called there (DECLINED)");
    hooks::HookArgs args;
    switch (o.hook) {
        case hooks::Hook::Helo:
        case hooks::Hook::Ehlo:
            args.text = o.helo;
            call(args, "");
            break;
        case hooks::Hook::Mail:
            args.address = o.from;
            call(args, "");
            break;
        case hooks::Hook::Rcpt:
            for (const auto& a : o.rcpts) {
                args.address = a;
                hooks::Verdict v = call(args, "rcpt " + a.format());
                if (hooks::disconnects(v.result) || v.close_silently) break;
                if (!hooks::is_deny(v.result)) ctx.txn->recipients.push_back(ctx.rewritten.value_or(a));
            }
            break;
        default: call(args, ""); break;
    }
    if (ctx.txn)
        for (std::size_t i = headers_before; i < ctx.txn->added_headers.size(); ++i)
            r.headers.push_back(ctx.txn->added_headers[i]);
    r.disabled = ctx.notes().count("dso.disabled") > 0;
    return std::nullopt;   // main drains the loop (with a bound: an abandoned call may never end)
}

}  // namespace asmtpd::plugtest
