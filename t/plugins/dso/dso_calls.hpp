// dso_calls.hpp - helpers of the dso plugin tests (dso_load, dso_indimail, dso_native,
// dso_threads): the path of a C fixture of t/fixtures/dso (built by CMake into
// ASMTPD_FIXTURE_DIR), the wire text of a verdict, hook arguments, running the loop until a
// condition, and a transaction with a sender, recipients and a finished body.
//
// Must never: block the loop without a deadline (spin gives up after its time).
#pragma once

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/io/spool.hpp"
#include "hooks/defaults.hpp"
#include "t/support/fake_context.hpp"

#ifndef ASMTPD_FIXTURE_DIR
#error "ASMTPD_FIXTURE_DIR must name the directory of the built t/fixtures/dso libraries"
#endif

namespace asmtpd::test::dso_calls {

using Clock = std::chrono::steady_clock;

inline std::string fixture(const std::string& name) { return std::string(ASMTPD_FIXTURE_DIR) + "/" + name + ".so"; }

inline std::string wire(hooks::Hook h, const std::optional<hooks::Verdict>& v) {
    REQUIRE(v);
    return hooks::dispose(h, *v).reply.wire(true);
}

inline hooks::HookArgs addr(const std::string& local, const std::string& domain = "example.test") {
    return PluginHarness::address_args(local, domain);
}

inline hooks::HookArgs helo(const std::string& h) {
    return hooks::HeloArgs{h};
}

// Runs the loop without blocking until pred() or the time is up.
template <class P>
bool spin(FakeContext& ctx, P pred, int ms = 5000) {
    auto end = Clock::now() + std::chrono::milliseconds(ms);
    while (Clock::now() < end) {
        if (pred()) return true;
        uv_run(ctx.loop(), UV_RUN_NOWAIT);
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return pred();
}

// A transaction with a sender (and recipients), as the session has it at RCPT / DATA time.
inline void open_txn(FakeContext& ctx, const std::string& sender = "s@example.test", std::vector<std::string> rcpts = {}) {
    ctx.txn.emplace();
    ctx.txn->number = 1;
    ctx.txn->id = "1234.1";
    auto at = sender.find('@');
    if (at == std::string::npos) ctx.txn->sender = proto::Address{};
    else ctx.txn->sender = proto::Address{sender.substr(0, at), sender.substr(at + 1)};
    for (const auto& r : rcpts) {
        auto a = r.find('@');
        ctx.txn->recipients.push_back(proto::Address{r.substr(0, a), r.substr(a + 1)});
    }
}

// A finished body spool; threshold 0 puts it in an (unlinked) file.
inline void add_body(FakeContext& ctx, const std::string& body, std::size_t threshold = 1 << 20) {
    ctx.txn->received = "Received: from client by mx.example.org; Thu, 1 Jan 2026 00:00:00 +0000";
    ctx.txn->body = io::Spool::create(ctx.loop(), ctx.dir().path(), threshold);
    ctx.txn->body->append(body);
    bool done = false;
    ctx.txn->body->finish([&](bool ok) {
        CHECK(ok);
        done = true;
    });
    REQUIRE(spin(ctx, [&] { return done; }));
}

}  // namespace asmtpd::test::dso_calls
