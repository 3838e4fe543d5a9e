// chain_test.cpp - tests hooks/chain.cpp, the chain runner, on a real loop: config order,
// the first answer other than DECLINED wins, asynchronous answers, deadlines, late and double
// answers, cancel, plugins that throw, the deny/ok side hooks and notify(), and a long chain
// of synchronous plugins in constant stack.
#include "hooks/chain.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "core/proto/plugin_list.hpp"
#include "t/support/fake_context.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using namespace asmtpd::hooks;
using test::FakeContext;

namespace {

// What an instance does at rcpt is its first argument:
//   decline | ok | deny | done | throw | twice (ok, then ok again) | drop (never resolves,
//   drops the call) | later MS ANSWER (answers after MS) | never (keeps the call unanswered)
//   | many N (registers N declining handlers)
// "watch" as a further argument also records the deny/ok side hooks and reset_transaction.
// Each call appends "<instance>:<hook>" to the connection note "order".
class Scripted final : public Plugin {
public:
    std::optional<std::string> init(const PluginInit& in) override {
        args_ = in.line.args;
        if (args_.empty()) return "no script";
        set_timeout(std::chrono::milliseconds(50));
        return std::nullopt;
    }
    void register_hooks(Registrar& r) override {
        if (args_[0] == "many") {
            for (int i = 0; i < std::stoi(args_[1]); ++i)
                r.on<Hook::Rcpt>([](Context&, const AddressArgs&, HookCall c) { c.declined(); });
            return;
        }
        r.on<Hook::Rcpt>(&Scripted::on_rcpt);
        for (const auto& a : args_)
            if (a == "watch") {
                r.on<Hook::Deny>(&Scripted::on_side);
                r.on<Hook::Ok>(&Scripted::on_side);
                r.on<Hook::ResetTransaction>(&Scripted::on_reset);
            }
    }

    std::vector<HookCall> kept;   // "never"
    std::vector<OutcomeArgs> side;   // what the deny/ok side hooks saw
    std::vector<std::string> seen;   // local parts of the rcpt arguments

private:
    void record(Context& ctx, Hook h) { ctx.notes()["order"] += name() + ":" + std::string(hook_name(h)) + " "; }

    void on_rcpt(Context& ctx, const AddressArgs& a, HookCall call) {
        record(ctx, Hook::Rcpt);
        seen.push_back(a.address.local);
        const std::string& what = args_[0];
        if (what == "decline") return call.declined();
        if (what == "ok") return call.ok("fine");
        if (what == "deny") return call.deny("no");
        if (what == "done") return call.resolve(Verdict::done());
        if (what == "throw") throw std::runtime_error("boom");
        if (what == "twice") {
            call.ok("first");
            return call.ok("second");
        }
        if (what == "drop") return;
        if (what == "rewrite" || what == "rewrite-ok") {   // rewrite ADDR: the address in the verdict
            Verdict v = what == "rewrite" ? Verdict::declined() : Verdict::ok();
            v.address = proto::Address{args_[1], "example.test"};
            return call.resolve(std::move(v));
        }
        if (what == "never") {
            kept.push_back(std::move(call));
            return;
        }
        if (what == "later") {
            auto answer = args_[2];
            ctx.after(std::stoul(args_[1]), [answer, call] {   // a copy shares the one answer
                if (answer == "ok") call.ok("later");
                else if (answer == "deny") call.deny("later");
                else call.declined();
            });
        }
    }
    void on_side(Context& ctx, const OutcomeArgs& a, HookCall) {
        record(ctx, is_deny(a.verdict.result) ? Hook::Deny : Hook::Ok);
        side.push_back(a);
    }
    void on_reset(Context& ctx, const ResetArgs&, HookCall) { record(ctx, Hook::ResetTransaction); }

    std::vector<std::string> args_;
};

std::unique_ptr<Plugin> make_scripted() { return std::make_unique<Scripted>(); }
const CatalogEntry kCatalog[] = {{"scripted", &make_scripted}};

struct Outcome {
    int calls = 0;
    Verdict verdict;
    std::string by;   // instance name, "" for none
};

using Script = std::vector<std::vector<std::string>>;   // {instance, script words...} per line

// A chain over instances "name script...", built as the registry builds a config load.
struct Fixture {
    FakeContext ctx;
    std::shared_ptr<const Registry> registry;
    std::shared_ptr<ChainRunner> chain;

    explicit Fixture(const Script& lines) {
        proto::PluginList list;
        int n = 0;
        for (const auto& l : lines) {
            proto::PluginLine pl;
            pl.name = "scripted";
            pl.instance = l[0];
            pl.args.assign(l.begin() + 1, l.end());
            pl.file = "config/plugins";
            pl.line = ++n;
            list.plugins.push_back(pl);
        }
        std::vector<std::string> errors;
        registry = Registry::build(list, kCatalog, ctx.config(), ctx.facts, errors);
        REQUIRE(errors.empty());
        chain = ChainRunner::create(ctx.reactor(), registry, ctx, ctx.log());
    }
    ~Fixture() { chain.reset(); }

    Scripted& plugin(const char* instance) {
        return const_cast<Scripted&>(static_cast<const Scripted&>(*registry->find(instance)));
    }
    std::shared_ptr<Outcome> start(Hook h = Hook::Rcpt) {
        HookArgs args = default_args(h);
        if (auto* a = std::get_if<AddressArgs>(&args)) a->address = proto::Address{"client", "example.test"};
        return start(h, std::move(args));
    }
    std::shared_ptr<Outcome> start(Hook h, HookArgs args) {
        auto out = std::make_shared<Outcome>();
        chain->run(h, std::move(args), [out](Verdict v, const Plugin* by) {
            ++out->calls;
            out->verdict = std::move(v);
            out->by = by ? by->name() : "";
        });
        return out;
    }
    std::string order() { return ctx.notes()["order"]; }
};

}  // namespace

TEST_CASE("chain: plugins run in config order until one answers; later ones are not called") {
    Fixture f(Script{{"a", "decline"}, {"b", "deny", "watch"}, {"c", "ok"}});
    auto out = f.start();
    CHECK(out->calls == 1);   // synchronous answers finish inside run()
    CHECK(out->verdict.result == Result::Deny);
    CHECK(out->verdict.text == "no");
    CHECK(out->by == "b");
    CHECK(f.order() == "a:rcpt b:rcpt b:deny ");
    CHECK_FALSE(f.chain->busy());
}

TEST_CASE("chain: all DECLINED ends with DECLINED from nobody, and no side hook") {
    Fixture f(Script{{"a", "decline", "watch"}, {"b", "decline"}});
    auto out = f.start();
    CHECK(out->calls == 1);
    CHECK(out->verdict.result == Result::Declined);
    CHECK(out->by.empty());
    CHECK(f.order() == "a:rcpt b:rcpt ");
    CHECK(f.plugin("a").side.empty());
}

TEST_CASE("chain: OK and DONE notify the ok side hook with the plugin, the verdict and the hook") {
    Fixture f(Script{{"w", "decline", "watch"}, {"o", "ok"}});
    auto out = f.start();
    CHECK(out->verdict.result == Result::Ok);
    auto& side = f.plugin("w").side;
    REQUIRE(side.size() == 1);
    CHECK(side[0].plugin == "o");
    CHECK(side[0].subject == Hook::Rcpt);
    CHECK(side[0].verdict.text == "fine");

    Fixture g(Script{{"w", "decline", "watch"}, {"d", "done"}});
    CHECK(g.start()->verdict.result == Result::Done);
    CHECK(g.order() == "w:rcpt d:rcpt w:ok ");
}

TEST_CASE("chain: an asynchronous answer continues the chain from the loop") {
    Fixture f(Script{{"a", "later", "5", "decline"}, {"b", "later", "5", "ok"}, {"c", "deny"}});
    auto out = f.start();
    CHECK(out->calls == 0);
    CHECK(f.chain->busy());
    f.ctx.run();
    CHECK(out->calls == 1);
    CHECK(out->verdict.result == Result::Ok);
    CHECK(out->verdict.text == "later");
    CHECK(out->by == "b");
    CHECK(f.order() == "a:rcpt b:rcpt ");
}

TEST_CASE("chain: a plugin that does not answer in time gives DENYSOFT plugin timeout; its late answer is dropped") {
    Fixture f(Script{{"slow", "never"}, {"next", "ok"}});
    auto out = f.start();
    auto started = f.ctx.reactor().now_ms();
    f.ctx.run();
    CHECK(out->calls == 1);
    CHECK(out->verdict.result == Result::DenySoft);
    CHECK(out->verdict.text == "plugin timeout");
    CHECK(out->by == "slow");
    CHECK(f.ctx.reactor().now_ms() - started >= 50);
    CHECK(f.order() == "slow:rcpt ");
    auto& kept = f.plugin("slow").kept;
    REQUIRE(kept.size() == 1);
    CHECK_FALSE(kept[0].wanted());
    kept[0].ok("too late");
    CHECK(out->calls == 1);
    CHECK(f.ctx.log_text().find("plugin timeout: [slow]") != std::string::npos);
}

TEST_CASE("chain: a second answer is logged and ignored") {
    Fixture f(Script{{"t", "twice"}});
    auto out = f.start();
    CHECK(out->calls == 1);
    CHECK(out->verdict.text == "first");
    CHECK(f.ctx.log_text().find("resolved a hook call twice") != std::string::npos);
}

TEST_CASE("chain: a dropped HookCall answers DENYSOFT internal plugin error") {
    Fixture f(Script{{"x", "drop"}, {"y", "ok"}});
    auto out = f.start();
    CHECK(out->calls == 1);
    CHECK(out->verdict.result == Result::DenySoft);
    CHECK(out->verdict.text == "internal plugin error");
}

TEST_CASE("chain: a plugin that throws is skipped as if it had declined") {
    Fixture f(Script{{"bad", "throw"}, {"good", "ok"}});
    auto out = f.start();
    CHECK(out->verdict.result == Result::Ok);
    CHECK(out->by == "good");
    CHECK(f.ctx.log_text().find("FATAL PLUGIN ERROR [bad] in rcpt: boom") != std::string::npos);
}

TEST_CASE("chain: cancel() drops the pending call; Done never runs and the answer is ignored") {
    Fixture f(Script{{"p", "never"}});
    auto out = f.start();
    f.chain->cancel();
    CHECK_FALSE(f.chain->busy());
    auto& kept = f.plugin("p").kept;
    REQUIRE(kept.size() == 1);
    CHECK_FALSE(kept[0].wanted());
    kept[0].ok();
    f.ctx.run();   // no deadline left armed either
    CHECK(out->calls == 0);
    // The runner is free for the next chain.
    kept.clear();
    Fixture g(Script{{"o", "ok"}});
    CHECK(g.start()->calls == 1);
}

TEST_CASE("chain: a second run while one is pending answers DENYSOFT and leaves the first alone") {
    Fixture f(Script{{"p", "later", "5", "ok"}});
    auto first = f.start();
    auto second = f.start();
    CHECK(second->calls == 1);
    CHECK(second->verdict.result == Result::DenySoft);
    f.ctx.run();
    CHECK(first->calls == 1);
    CHECK(first->verdict.result == Result::Ok);
}

TEST_CASE("chain: notify() calls every handler of an ignored-result hook") {
    Fixture f(Script{{"a", "decline", "watch"}, {"b", "decline", "watch"}});
    f.chain->notify(Hook::ResetTransaction, ResetArgs{});
    CHECK(f.order() == "a:reset_transaction b:reset_transaction ");
}

TEST_CASE("chain: 200000 synchronous DECLINED handlers run in constant stack") {
    Fixture f(Script{{"m", "many", "200000"}, {"o", "ok"}});
    auto out = f.start();
    CHECK(out->calls == 1);
    CHECK(out->by == "o");
}

TEST_CASE("chain: a rewrite on DECLINED reaches the final verdict; later plugins still see the client's address") {
    Fixture f(Script{{"a", "rewrite", "first"}, {"b", "decline"}});
    auto out = f.start();
    CHECK(out->verdict.result == Result::Declined);
    REQUIRE(out->verdict.address);
    CHECK(out->verdict.address->local == "first");
    CHECK(f.plugin("b").seen == std::vector<std::string>{"client"});
}

TEST_CASE("chain: the last rewrite wins, and an answer's own rewrite beats earlier ones") {
    Fixture f(Script{{"a", "rewrite", "first"}, {"b", "rewrite", "second"}, {"c", "ok"}});
    auto out = f.start();
    CHECK(out->verdict.result == Result::Ok);
    REQUIRE(out->verdict.address);
    CHECK(out->verdict.address->local == "second");

    Fixture g(Script{{"a", "rewrite", "first"}, {"b", "rewrite-ok", "own"}});
    auto own = g.start();
    REQUIRE(own->verdict.address);
    CHECK(own->verdict.address->local == "own");

    Fixture h(Script{{"o", "ok"}});   // nothing rewritten: no address, and none left over
    CHECK_FALSE(h.start()->verdict.address);
}

TEST_CASE("chain: a hook started with another hook's arguments is refused before any handler runs") {
    Fixture f(Script{{"a", "ok"}});
    auto out = f.start(Hook::Rcpt, HeloArgs{"client.example"});
    CHECK(out->calls == 1);
    CHECK(out->verdict.result == Result::DenySoft);
    CHECK(f.order().empty());
    CHECK(f.ctx.log_text().find("hook rcpt started with the wrong argument type") != std::string::npos);
}

}  // namespace ASMTPD_TEST_UNIT
