// plugtest_spp.cpp - runs one qmail-spp program line for one hook, the way plugins/spp does:
// the same environment variables (spp_env), the same chain runner (spp_chain: ChildRunner,
// timeouts, output limits, stderr logging) and the same verdict planning (spp_output).
// Never: run more than the one line given, or a program anywhere but in a ChildRunner child.
#include <ctime>
#include <memory>

#include "core/io/child_process.hpp"
#include "core/io/spool.hpp"
#include "core/smtp/received.hpp"
#include "plugins/common/rcpthosts.hpp"
#include "plugins/spp/spp_chain.hpp"
#include "plugins/spp/spp_config.hpp"
#include "plugins/spp/spp_env.hpp"
#include "plugins/spp/spp_output.hpp"
#include "tools/plugtest/plugtest.hpp"

namespace asmtpd::plugtest {

namespace {

using namespace plugins::spp;

Section section_for(hooks::Hook h) {
    switch (h) {
        case hooks::Hook::Connect: return Section::Connection;
        case hooks::Hook::Helo:
        case hooks::Hook::Ehlo: return Section::Helo;
        case hooks::Hook::Mail: return Section::Mail;
        case hooks::Hook::Rcpt: return Section::Rcpt;
        case hooks::Hook::Data: return Section::Data;
        case hooks::Hook::AuthPost: return Section::Auth;
        case hooks::Hook::RcptPost: return Section::Pass;
        default: return Section::DataPost;
    }
}

std::string header_for(Section s) {
    return s == Section::DataPost ? std::string(kDataPostHeader) : "[" + std::string(section_name(s)) + "]";
}

// One chain run on the private loop; nullopt if the loop ran dry without an answer (a bug).
std::optional<ChainResult> run_chain(Env& env, io::ChildRunner& runner, std::shared_ptr<const ChainOptions> opts, Section s,
                                     const std::shared_ptr<const SppConfig>& config, SppState& state,
                                     ChainInput input) {
    auto alive = std::make_shared<int>(0);
    std::optional<ChainResult> result;
    auto run = ChainRun::start(runner, std::move(opts), s, config, env.conn.env, state, alive, env.log, std::move(input),
                               [&result](ChainResult r) { result = std::move(r); });
    while (!result && uv_run(env.loop, UV_RUN_ONCE) != 0) {
    }
    return result;
}

}  // namespace

std::optional<std::string> run_spp(const Options& o, Env& env, Report& r) {
    const Section section = section_for(o.hook);
    auto config = std::make_shared<const SppConfig>(parse_spp_config(header_for(section) + "\n" + o.spp_line + "\n"));
    if (config->programs(section).size() != 1) return "the program line must be one non-empty line";
    const ProgramLine& prog = config->programs(section).front();
    r.plugin = "spp \"" + prog.line + "\"";

    ChainOptions opts;
    opts.home = o.home.empty() ? env.config_dir : o.home;
    opts.timeout_ms = static_cast<std::uint64_t>(env.facts.plugin_timeout.count());
    opts.budget_ms = std::max<std::uint64_t>(opts.timeout_ms + 1000, section == Section::Data ? 100000 : 240000);
    opts.server_env = ServerEnv::capture();
    const auto shared_opts = std::make_shared<const ChainOptions>(std::move(opts));

    auto& cenv = env.conn.env;
    add_tcpserver_vars(env.conn, env.facts.hostname, cenv);
    if (env.conn.relay_client) cenv.emplace("RELAYCLIENT", "");
    const bool relay = cenv.count("RELAYCLIENT") > 0;
    if (o.hook != hooks::Hook::Connect) set_helo_vars(cenv, o.helo);
    const bool in_transaction = o.hook != hooks::Hook::Connect && o.hook != hooks::Hook::Helo &&
                                o.hook != hooks::Hook::Ehlo && o.hook != hooks::Hook::AuthPost;
    if (in_transaction) set_mail_address(cenv, o.from);
    if (o.hook == hooks::Hook::AuthPost) set_auth_vars(cenv, o.auth_method, o.auth_user);
    hooks::FlatConfig flat(env.config_dir);
    auto rcpthosts = plugins::RcptHosts::load(flat, env.facts.hostname);
    auto hosts_ok = [&](const proto::Address& a) {
        return a.domain.empty() || relay || rcpthosts.local_domain(a.domain);
    };

    io::ChildRunner runner(env.loop, 4);
    SppState state;
    auto run_step = [&](std::string label, ChainInput input) -> bool {
        auto before = cenv;
        auto result = run_chain(env, runner, shared_opts, section, config, state, std::move(input));
        if (!result) return false;
        if (result->failure == Failure::CantExecute || result->failure == Failure::ForkFailed)
            r.not_run = result->by + ": " + std::string(failure_reason(result->failure));
        VerdictPlan plan = plan_verdict(section, *result);
        Step st;
        st.label = std::move(label);
        st.verdict = plan.verdict;
        st.prefix = plan.prefix;
        if ((section == Section::Mail || section == Section::Rcpt) && result->address &&
            !hooks::is_deny(plan.verdict.result)) {
            auto rules = section == Section::Mail ? proto::sender_rules(true) : proto::recipient_rules(true);
            if (auto a = proto::parse_path("<" + *result->address + ">", rules)) st.address = *a;
        }
        st.env_changes = env_diff(before, cenv);
        r.steps.push_back(std::move(st));
        return true;
    };

    bool ok = true;
    if (o.hook == hooks::Hook::Rcpt || o.hook == hooks::Hook::RcptPost) {
        // [pass] runs for recipients the whole chain accepted, with SMTPRCPTCOUNT counting them.
        const bool pass = o.hook == hooks::Hook::RcptPost;
        std::size_t accepted = 0;
        for (std::size_t i = 0; i < o.rcpts.size() && ok; ++i) {
            const auto& a = o.rcpts[i];
            set_rcpt_counters(cenv, accepted + (pass ? 1 : 0), i + 1, hosts_ok(a));
            set_rcpt_address(cenv, a);
            ok = run_step("rcpt " + a.format(), {});
            if (!ok) break;
            const auto& v = r.steps.back().verdict;
            if (hooks::disconnects(v.result) || v.close_silently) break;
            if (!hooks::is_deny(v.result)) ++accepted;
        }
    } else if (o.hook == hooks::Hook::Data || o.hook == hooks::Hook::DataPost) {
        const auto& last = o.rcpts.back();
        set_rcpt_counters(cenv, o.rcpts.size() - 1, o.rcpts.size(), hosts_ok(last));
        set_rcpt_address(cenv, last);
        ChainInput input;
        if (o.hook == hooks::Hook::DataPost) {
            std::string error;
            std::string text = message_text(o, error);
            if (!error.empty()) return error;
            hooks::Transaction txn;
            txn.id = "plugtest.1";
            txn.sender = o.from;
            txn.recipients = o.rcpts;
            input.body = io::Spool::create(env.loop, env.tmp_dir, text.size() + 1);
            input.body->append(text);
            txn.body = input.body;
            txn.received = smtp::received_header(env.conn, txn, env.facts.hostname, std::time(nullptr));
            input.head = txn.header_prefix();
        }
        ok = run_step("", std::move(input));
    } else {
        ok = run_step("", {});
    }
    if (!ok) return std::string("the program run never finished (internal error)");

    for (const auto& h : state.headers) r.headers.push_back(h);
    const char* names[] = {"mail", "rcpt", "data"};
    for (std::size_t i = 0; i < state.deferred.size(); ++i)
        for (const auto& l : state.deferred[i]) r.deferred.push_back(std::string(names[i]) + " " + l);
    r.disabled = state.disabled;
    return std::nullopt;
}

}  // namespace asmtpd::plugtest
