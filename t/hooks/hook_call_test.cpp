// hook_call_test.cpp - the one-shot continuation: exactly once, late answers, safe default.
#include <doctest/doctest.h>

#include <functional>
#include <memory>

#include "hooks/hook_call.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::hooks;

namespace {
struct Sink final : HookSink {
    void hook_resolved(std::uint64_t token, Verdict v) override {
        ++resolves;
        last_token = token;
        last = std::move(v);
    }
    void hook_double_resolve(std::uint64_t) override { ++doubles; }
    bool hook_wanted(std::uint64_t token) const override { return token == current; }
    int resolves = 0, doubles = 0;
    std::uint64_t last_token = 0, current = 7;
    Verdict last;
};
}  // namespace

TEST_CASE("resolve reaches the sink once; a second resolve is reported, not delivered") {
    auto sink = std::make_shared<Sink>();
    HookCall call(sink, 7);
    CHECK(call.wanted());
    call.resolve(Verdict::deny("no"));
    CHECK(sink->resolves == 1);
    CHECK(sink->last.result == Result::Deny);
    CHECK(!call.wanted());
    call.resolve(Verdict::ok());
    CHECK(sink->resolves == 1);
    CHECK(sink->doubles == 1);
}

TEST_CASE("wanted() follows the chain's token, not only the sink's life") {
    auto sink = std::make_shared<Sink>();
    HookCall call(sink, 7);
    CHECK(call.wanted());
    sink->current = 8;   // the chain moved on (deadline, RSET)
    CHECK(!call.wanted());
    call.declined();     // still safe to resolve: the sink decides what a stale token means
    CHECK(sink->last_token == 7);
}

TEST_CASE("a call destroyed unresolved resolves DENYSOFT; a moved-from call does nothing") {
    auto sink = std::make_shared<Sink>();
    {
        HookCall a(sink, 7);
        HookCall b(std::move(a));
    }
    CHECK(sink->resolves == 1);
    CHECK(sink->last.result == Result::DenySoft);
    CHECK(sink->last.text == "internal plugin error");
}

TEST_CASE("a call whose sink is gone is neither wanted nor harmful") {
    auto sink = std::make_shared<Sink>();
    HookCall call(sink, 7);
    sink.reset();
    CHECK(!call.wanted());
    call.ok();
}

TEST_CASE("a default-constructed (detached) call needs no answer") {
    HookCall call;
    CHECK(call.resolved());
    CHECK(!call.wanted());
    call.ok();
}

TEST_CASE("copies share one answer: any copy resolves it, the others then see it resolved") {
    auto sink = std::make_shared<Sink>();
    HookCall a(sink, 7);
    HookCall b = a;
    std::function<void()> later = [b] { b.ok("from the copy"); };   // storable in std::function
    CHECK_FALSE(a.resolved());
    later();
    CHECK(sink->resolves == 1);
    CHECK(sink->last.text == "from the copy");
    CHECK(a.resolved());
    CHECK_FALSE(a.wanted());
    a.deny("too late");
    CHECK(sink->resolves == 1);
    CHECK(sink->doubles == 1);
}

TEST_CASE("the safe default fires once, when the last copy goes, not when the first does") {
    auto sink = std::make_shared<Sink>();
    auto a = std::make_unique<HookCall>(sink, 7);
    {
        HookCall b = *a;
    }
    CHECK(sink->resolves == 0);
    a.reset();
    CHECK(sink->resolves == 1);
    CHECK(sink->last.result == Result::DenySoft);
}

}  // namespace ASMTPD_TEST_UNIT
