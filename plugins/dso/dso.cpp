// NAME
//   dso - shared-object plugins: asmtpd's native C ABI (hooks/plugin_abi.h) and IndiMail's
//   plugin_init() API (SPP.md §6), one .so per config/plugins line.
// SYNOPSIS
//   dso FILE [symbol NAME] [timeout SECS] [concurrency N] [-- ARGS...]
//   FILE         the shared object; relative to the config directory unless absolute
//   symbol       IndiMail's SMTP_PLUGIN_SYMB: the init function's name (default plugin_init);
//                given, the file is taken for an IndiMail plugin
//   timeout      deadline of one call on the thread pool (default asmtpd.yaml timeouts.plugin)
//   concurrency  native THREAD_SAFE plugins: calls in flight at once (default 2)
//   -- ARGS      words handed to a native plugin as host->argv[1..]
//   More files: more lines (`dso:2 other.so`); they run in config order like every plugin.
// HOOKS
//   IndiMail: mail_func -> mail, rcpt_func -> rcpt, data_func -> data_post (after the whole body;
//   a refusal means nothing is queued). 0 = DECLINED, so the first non-zero return of the
//   `dso` lines wins; the message rules are in dso_legacy.hpp. NULL functions register nothing.
//   Native: on_connect, on_helo (helo+ehlo), on_mail, on_rcpt, on_data_start (data),
//   on_data_end (data_post); verdicts and host API in hooks/plugin_abi.h.
// THREADS
//   IndiMail calls, MAY_BLOCK native calls and every on_data_end run on the thread pool, never
//   on the loop: through a FIFO per library (one call at a time unless THREAD_SAFE), under the
//   deadline. An overrunning call is abandoned: DENYSOFT "plugin timeout" at once, and its result
//   is never looked at; while all of a library's slots are held by abandoned calls, new calls get
//   DENYSOFT "plugin busy" at once. Native hooks without MAY_BLOCK run inline on the loop.
//   Limitation: libuv cannot cancel pool work, so an abandoned call that never returns pins its
//   pool thread and keeps the worker process from finishing its shutdown.
// Rules: no plugin code on the loop thread except inline native hooks; nothing a call leaves
// behind is applied after its deadline; the plugin object may go (reload) while calls are in
// flight, so calls hold only shared state, never `this`.
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/io/timer.hpp"
#include "hooks/plugin.hpp"
#include "core/proto/plugin_args.hpp"
#include "plugins/common/rcpthosts.hpp"
#include "plugins/dso/dso_gate.hpp"
#include "plugins/dso/dso_legacy.hpp"
#include "plugins/dso/dso_library.hpp"
#include "plugins/dso/dso_native.hpp"

namespace asmtpd::plugins {

namespace {

using namespace dso;
namespace fs = std::filesystem;

// Connection note: a native plugin returned DISABLE_PLUGINS; no dso plugin runs any more.
constexpr const char* kDisabledNote = "dso.disabled";
constexpr std::size_t kDefaultConcurrency = 2;
// Our deadline must fire before the chain's own (which would answer without our log line).
constexpr std::chrono::milliseconds kChainGrace{2000};

enum CallState : int { kQueued = 0, kRunning = 1, kDone = 2, kCancelled = 3 };

// What every call of one instance shares; outlives the Dso object while calls are in flight.
struct Shared {
    std::shared_ptr<Library> lib;
    std::shared_ptr<Gate> gate;
    std::uint64_t timeout_ms = 30000;
    plugins::RcptHosts rcpthosts;
    std::string name;
};

// One call waiting for the pool (loop thread only, except `state`).
struct Pending {
    hooks::HookCall call;
    hooks::Context* ctx = nullptr;
    std::weak_ptr<const void> alive;
    io::Log log;
    std::unique_ptr<io::Timer> timer;
    std::shared_ptr<std::atomic<int>> state = std::make_shared<std::atomic<int>>(kQueued);
    std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
    bool settled = false;     // the HookCall was resolved
    bool abandoned = false;   // it overran while running: its result is never used

    void settle(hooks::Verdict v) {
        settled = true;
        timer.reset();
        call.resolve(std::move(v));
    }
};

using Work = std::function<void()>;
using Finish = std::function<hooks::Verdict(hooks::Context&, const io::Log&)>;

void dispatch(const std::shared_ptr<Shared>& sh, hooks::Context& ctx, hooks::HookCall call, Work work,
              Finish finish) {
    auto p = std::make_shared<Pending>();
    p->call = std::move(call);
    p->ctx = &ctx;
    p->alive = ctx.lifetime();
    p->log = ctx.log().with_tag(sh->name);
    if (sh->gate->wedged()) {
        p->log.warn("dso: {} is busy with abandoned calls; answering DENYSOFT", sh->lib->display_name());
        return p->settle(hooks::Verdict::deny_soft("plugin busy"));
    }
    std::weak_ptr<Pending> wp = p;
    auto gate = sh->gate;
    p->timer = ctx.reactor().timer();
    p->timer->start(sh->timeout_ms, [wp, gate, ms = sh->timeout_ms] {
        auto p = wp.lock();
        if (!p || p->settled) return;
        int expected = kQueued;
        if (p->state->compare_exchange_strong(expected, kCancelled)) {
            p->log.warn("dso: call waited {} ms for its turn; DENYSOFT", ms);
        } else if (expected == kRunning) {
            p->abandoned = true;
            p->log.warn("dso: call did not return within {} ms; abandoned (DENYSOFT)", ms);
            gate->abandon();   // may flush queued calls with "busy" (other sessions)
        } else {
            p->log.warn("dso: call returned just after its {} ms deadline; result discarded", ms);
        }
        if (!p->settled) p->settle(hooks::Verdict::deny_soft("plugin timeout"));
    });

    Gate::Entry e;
    e.reactor = ctx.reactor();
    e.work = [state = p->state, alive = p->alive, work = std::move(work)] {
        int expected = kQueued;
        if (alive.expired() || !state->compare_exchange_strong(expected, kRunning)) return;
        work();
        state->store(kDone);
    };
    e.after = [p, gate, finish = std::move(finish)] {
        if (p->abandoned) {
            gate->abandoned_returned();
            auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - p->started);
            p->log.notice("dso: an abandoned call returned after {} ms; its result is discarded", ms.count());
            return;
        }
        if (p->settled) return;
        if (p->alive.expired() || p->state->load() != kDone) return p->settle(hooks::Verdict::deny_soft());
        p->settle(finish(*p->ctx, p->log));
    };
    e.busy = [wp] {
        auto p = wp.lock();
        if (!p || p->settled) return;
        p->state->store(kCancelled);
        p->log.warn("dso: plugin wedged by abandoned calls; DENYSOFT");
        p->settle(hooks::Verdict::deny_soft("plugin busy"));
    };
    if (!gate->submit(std::move(e))) {
        p->log.warn("dso: {} is busy with abandoned calls; answering DENYSOFT", sh->lib->display_name());
        p->settle(hooks::Verdict::deny_soft("plugin busy"));
    }
}

class Dso final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        std::vector<std::string> own = in.line.args;
        std::vector<std::string> plugin_args;
        for (auto it = own.begin(); it != own.end(); ++it)
            if (*it == "--") {
                plugin_args.assign(std::next(it), own.end());
                own.erase(it, own.end());
                break;
            }
        if (own.empty()) return "usage: dso FILE [symbol NAME] [timeout SECS] [concurrency N] [-- ARGS...]";
        const fs::path cfgdir = fs::absolute(in.server.config_dir).lexically_normal();
        fs::path file(own.front());
        own.erase(own.begin());
        proto::ArgPairs kv;
        if (auto e = kv.parse(own, {"symbol", "timeout", "concurrency"})) return e;

        auto sh = std::make_shared<Shared>();
        sh->name = name();
        sh->timeout_ms = static_cast<std::uint64_t>(in.server.plugin_timeout.count());
        if (auto v = kv.get("timeout")) {
            auto ms = proto::parse_seconds_ms(*v);
            if (!ms || *ms == 0) return fmt::format("timeout: expected seconds > 0, got '{}'", *v);
            sh->timeout_ms = *ms;
        }
        std::size_t concurrency = kDefaultConcurrency;
        if (auto v = kv.get("concurrency")) {
            auto n = proto::parse_count(*v);
            if (!n || *n == 0 || *n > 64) return fmt::format("concurrency: expected 1..64, got '{}'", *v);
            concurrency = static_cast<std::size_t>(*n);
        }
        LoadOptions o;
        o.path = (file.is_absolute() ? file : cfgdir / file).lexically_normal().string();
        o.symbol = kv.get("symbol");
        o.args = std::move(plugin_args);
        o.config_dir = cfgdir.string();
        o.server_name = in.server.hostname;
        std::string error;
        sh->lib = Library::load(o, error);
        if (!sh->lib) return error;
        if (kv.has("concurrency") && !sh->lib->thread_safe())
            return "concurrency applies only to native plugins flagged THREAD_SAFE";
        sh->gate = sh->lib->thread_safe() ? Gate::create(concurrency) : Gate::for_handle(sh->lib->handle());
        sh->rcpthosts = plugins::RcptHosts::load(in.config, in.server.hostname);

        io::Logger logger(io::Level::Warn, stderr);
        io::Log log(&logger, 0, name());
        for (const auto& w : sh->lib->warnings()) log.warn("dso: {}: {}", o.path, w);
        set_timeout(std::chrono::milliseconds(sh->timeout_ms) + kChainGrace);
        shared_ = std::move(sh);
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        auto on = [&](hooks::Hook h) {
            r.on_any(h, [this, h](hooks::Context& c, const hooks::HookArgs& a, hooks::HookCall call) {
                handle(h, c, a, std::move(call));
            });
        };
        const Library& lib = *shared_->lib;
        if (lib.abi() == Abi::Indimail) {
            if (lib.indimail().mail_func) on(hooks::Hook::Mail);
            if (lib.indimail().rcpt_func) on(hooks::Hook::Rcpt);
            if (lib.indimail().data_func) on(hooks::Hook::DataPost);
            return;
        }
        const auto& n = lib.native();
        if (n.on_connect) on(hooks::Hook::Connect);
        if (n.on_helo) {
            on(hooks::Hook::Helo);
            on(hooks::Hook::Ehlo);
        }
        if (n.on_mail) on(hooks::Hook::Mail);
        if (n.on_rcpt) on(hooks::Hook::Rcpt);
        if (n.on_data_start) on(hooks::Hook::Data);
        if (n.on_data_end) on(hooks::Hook::DataPost);
        if (n.on_auth) on(hooks::Hook::AuthPost);
    }

private:
    void handle(hooks::Hook h, hooks::Context& ctx, const hooks::HookArgs& args, hooks::HookCall call) {
        if (ctx.notes().count(kDisabledNote)) return call.declined();
        if (h == hooks::Hook::DataPost && !ctx.transaction()) return call.declined();
        auto sh = shared_;
        if (sh->lib->abi() == Abi::Indimail) {
            auto job = std::make_shared<LegacyJob>(LegacyJob::capture(ctx, h, args));
            Work work = [lib = sh->lib, job] { job->run(lib->indimail()); };
            Finish finish = [job](hooks::Context&, const io::Log& log) {
                if (job->threw) {
                    log.error("dso: the plugin threw an exception");
                    return legacy_fallback();
                }
                if (job->rc != 0 && !job->mesg)
                    log.warn("dso: returned {} with a NULL message: 451 rejected by plugin", job->rc);
                else if (job->rc != 0 && !parse_legacy_message(*job->mesg))
                    log.warn("dso: returned {} with a malformed message '{}': 451 rejected by plugin", job->rc,
                             job->mesg->substr(0, 80));
                return legacy_verdict(job->rc, job->mesg);
            };
            return dispatch(sh, ctx, std::move(call), std::move(work), std::move(finish));
        }

        std::uint32_t count_all = 0;
        if (h == hooks::Hook::Rcpt)
            if (hooks::Transaction* txn = ctx.transaction()) {
                std::string& all = txn->notes[name() + ".rcptcountall"];
                count_all = static_cast<std::uint32_t>(proto::parse_count(all).value_or(0) + 1);
                all = std::to_string(count_all);
            }
        auto job = std::make_shared<NativeJob>();
        job->capture(ctx, h, args, sh->rcpthosts, count_all);
        Work work = [lib = sh->lib, job] { job->run(lib->native()); };
        Finish finish = [job, h](hooks::Context& c, const io::Log& log) {
            if (job->threw) {
                log.error("dso: an exception escaped from the plugin's {} hook", hooks::hook_name(h));
                return hooks::Verdict::deny_soft("plugin error");
            }
            NativeOutcome o = native_verdict(h, job->rc, job->call.fx);
            if (o.bad_return) log.error("dso: the {} hook returned {}, which is no verdict", hooks::hook_name(h), job->rc);
            apply_effects(c, log, h, job->call.fx, o.verdict);
            if (o.disable) c.notes().insert_or_assign(kDisabledNote, std::string(1, '1'));
            return o.verdict;
        };
        if (!sh->lib->may_block() && h != hooks::Hook::DataPost) {
            // Inline on the loop (plugin_abi.h section 4): the plugin promised not to block.
            work();
            return call.resolve(finish(ctx, ctx.log().with_tag(sh->name)));
        }
        dispatch(sh, ctx, std::move(call), std::move(work), std::move(finish));
    }

    std::shared_ptr<Shared> shared_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_dso() { return std::make_unique<Dso>(); }

}  // namespace asmtpd::plugins
