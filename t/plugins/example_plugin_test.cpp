// example_plugin_test.cpp - the example plugin of docs/plugins.md, built and run, and a check
// that the document still shows exactly this code (the lines between the two markers).
#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include "t/support/fake_context.hpp"

// --- docs/plugins.md example begins
#include "core/proto/plugin_args.hpp"
#include "core/proto/text.hpp"
#include "hooks/plugin.hpp"

namespace example {
using namespace asmtpd;

// slow_domain DOMAIN [SECONDS]: refuses recipients at DOMAIN with 450, after a pause.
class SlowDomain final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        const auto& args = in.line.args;
        if (args.empty() || args.size() > 2) return "usage: slow_domain DOMAIN [SECONDS]";
        domain_ = proto::to_lower(args[0]);
        if (args.size() == 2) {
            auto ms = proto::parse_seconds_ms(args[1]);
            if (!ms) return "bad pause '" + args[1] + "'";
            pause_ms_ = *ms;
        }
        return std::nullopt;
    }
    void register_hooks(hooks::Registrar& r) override { r.on<hooks::Hook::Rcpt>(&SlowDomain::on_rcpt); }

private:
    void on_rcpt(hooks::Context& ctx, const hooks::AddressArgs& a, hooks::HookCall call) {
        if (proto::to_lower(a.address.domain) != domain_) return call.declined();
        ctx.log().info("holding a recipient at {} for {} ms", domain_, pause_ms_);
        // after() never runs once the session is gone; the HookCall travels with the timer.
        ctx.after(pause_ms_, [call] { call.deny_soft("Try again later"); });
    }
    std::string domain_;
    std::uint64_t pause_ms_ = 1000;
};
}  // namespace example
// --- docs/plugins.md example ends

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd;
using test::FakeContext;
using test::PluginHarness;
using test::result_name;

TEST_CASE("example plugin: refuses its domain after the pause, declines the others") {
    FakeContext ctx;
    PluginHarness p(ctx, std::make_unique<example::SlowDomain>(), "slow_domain", {"Slow.Example", "0.05"});
    REQUIRE_FALSE(p.init_error);
    CHECK(std::string(result_name(p.rcpt("a", "elsewhere.example"))) == "DECLINED");

    auto started = uv_now(ctx.loop());
    auto v = p.rcpt("a", "slow.EXAMPLE");
    CHECK(std::string(result_name(v)) == "DENYSOFT");
    CHECK(test::text_of(v) == "Try again later");
    CHECK(uv_now(ctx.loop()) - started >= 50);
}

TEST_CASE("example plugin: a bad argument fails start-up") {
    FakeContext ctx;
    PluginHarness none(ctx, std::make_unique<example::SlowDomain>(), "slow_domain");
    CHECK(none.init_error == std::optional<std::string>("usage: slow_domain DOMAIN [SECONDS]"));
    PluginHarness bad(ctx, std::make_unique<example::SlowDomain>(), "slow_domain", {"x.example", "soon"});
    CHECK(bad.init_error == std::optional<std::string>("bad pause 'soon'"));
}

TEST_CASE("example plugin: a session that ends during the pause gets no answer, and nothing leaks") {
    FakeContext ctx;
    PluginHarness p(ctx, std::make_unique<example::SlowDomain>(), "slow_domain", {"slow.example", "5"});
    auto sink = p.start(hooks::Hook::Rcpt, PluginHarness::address_args("a", "slow.example"));
    CHECK_FALSE(sink->verdict);
    ctx.end_session();   // the timer and the HookCall it holds are dropped
    ctx.run();
    // A HookCall dropped unresolved answers DENYSOFT itself (hook_call.hpp), never hangs; in
    // the daemon the chain is gone with the session and nobody hears it.
    REQUIRE(sink->verdict);
    CHECK(sink->verdict->result == hooks::Result::DenySoft);
}

// The code block in docs/plugins.md must be the code above, byte for byte.
TEST_CASE("example plugin: docs/plugins.md shows this code") {
    auto read = [](const std::string& path) {
        std::ifstream f(path, std::ios::binary);
        std::stringstream ss;
        ss << f.rdbuf();
        return ss.str();
    };
    auto between = [](const std::string& text, const std::string& from, const std::string& to) {
        auto a = text.find(from);
        if (a != std::string::npos) a = text.find('\n', a);
        auto b = a == std::string::npos ? a : text.find(to, ++a);
        if (b == std::string::npos) return std::string("(markers missing)");
        b = text.rfind('\n', b) + 1;
        return text.substr(a, b - a);
    };
    const std::string root = ASMTPD_SOURCE_DIR;
    std::string code = between(read(root + "/t/plugins/example_plugin_test.cpp"), "// --- docs/plugins.md example begins",
                               "// --- docs/plugins.md example ends");
    std::string doc = between(read(root + "/docs/plugins.md"), "```cpp example", "```");
    CHECK(code.size() > 500);
    CHECK(doc == code);
}

}  // namespace ASMTPD_TEST_UNIT
