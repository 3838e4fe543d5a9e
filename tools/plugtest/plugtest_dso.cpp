// plugtest_dso.cpp - runs one shared-object plugin (the `dso` plugin of the builtin catalog,
// exactly as a `dso FILE ...` line in config/plugins would) for one hook, through a small
// the offline Context the unit tests use too (tools/offline_context.hpp), on the private loop.
// Never: call the plugin's handlers for other hooks (an IndiMail rcpt test must not run
// mail_func first), or leave the loop with work in flight (the loop runs until idle at exit).
#include <array>
#include <ctime>
#include <memory>

#include "core/io/child_process.hpp"
#include "core/io/spool.hpp"
#include "core/io/timer.hpp"
#include "core/proto/plugin_list.hpp"
#include "core/smtp/received.hpp"
#include "hooks/hook_call.hpp"
#include "hooks/plugin.hpp"
#include "plugins/builtin.hpp"
#include "tools/offline_context.hpp"
#include "tools/plugtest/plugtest.hpp"

namespace asmtpd::plugtest {

namespace {

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
    offline::OfflineContext ctx(env.loop, env.log, env.config_dir);
    ctx.conn = env.conn;
    ctx.facts = env.facts;
    ctx.dns_options.servers = env.dns_servers;

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
        ctx.conn.hello = proto::Hello::Ehlo;
        ctx.conn.helo_host = o.helo;
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
        ctx.txn->received = smtp::received_header(ctx.conn, *ctx.txn, env.facts.hostname, std::time(nullptr));
    }
    const std::size_t headers_before = ctx.txn ? ctx.txn->added_headers.size() : 0;

    std::uint64_t token = 1;
    auto call = [&](hooks::HookArgs args, std::string label) {
        Step st;
        st.label = std::move(label);
        auto before = ctx.conn.env;
        ctx.reply_prefix.clear();
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
            if (st.verdict.address) st.address = st.verdict.address;   // the last rewrite wins, as in a chain
            if (st.verdict.result != hooks::Result::Declined) break;
        }
        st.prefix = ctx.reply_prefix;
        st.env_changes = env_diff(before, ctx.conn.env);
        r.steps.push_back(std::move(st));
        return r.steps.back().verdict;
    };

    if (entries.empty())
        r.notes.push_back("the plugin has no function for the " + std::string(hook_label(o.hook)) +
                          " hook: it is never called there (DECLINED)");
    switch (o.hook) {
        case hooks::Hook::Helo:
        case hooks::Hook::Ehlo:
            call(hooks::HeloArgs{o.helo}, "");
            break;
        case hooks::Hook::Mail:
            call(hooks::AddressArgs{o.from, {}}, "");
            break;
        case hooks::Hook::Rcpt:
            for (const auto& a : o.rcpts) {
                call(hooks::AddressArgs{a, {}}, "rcpt " + a.format());
                const Step& st = r.steps.back();
                if (hooks::disconnects(st.verdict.result) || st.verdict.close_silently) break;
                if (!hooks::is_deny(st.verdict.result)) ctx.txn->recipients.push_back(st.address.value_or(a));
            }
            break;
        default: call(hooks::default_args(o.hook), ""); break;
    }
    if (ctx.txn)
        for (std::size_t i = headers_before; i < ctx.txn->added_headers.size(); ++i)
            r.headers.push_back(ctx.txn->added_headers[i]);
    r.disabled = ctx.notes().count("dso.disabled") > 0;
    return std::nullopt;   // main drains the loop (with a bound: an abandoned call may never end)
}

}  // namespace asmtpd::plugtest
