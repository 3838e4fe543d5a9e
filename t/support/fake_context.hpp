// fake_context.hpp - a hooks::Context for plugin unit tests, on a real libuv loop.
//
// FakeContext is tools/offline_context.hpp's OfflineContext (the same Context asmtpd-plugtest
// uses: every field a plugin can see, public and settable; after() on io::Timer like the real
// session; end_session() expires lifetime() and cancels pending after() callbacks, as a
// disconnect would), plus what a test needs around it: its own uv_loop_t (init in the
// constructor; run until idle, then close in the destructor), a temporary config directory,
// a readable log, and a resolver that only ever asks the test's DNS server.
// PluginHarness builds one plugin from the builtin catalog the way the registry does and runs
// its handlers for one hook like a small chain, returning the Verdict that was resolved.
// Header-only on purpose: t/support is not globbed by CMake.
#pragma once

#include <doctest/doctest.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

#include "core/io/child_process.hpp"
#include "core/io/log.hpp"
#include "core/io/timer.hpp"
#include "hooks/context.hpp"
#include "hooks/hook_call.hpp"
#include "hooks/plugin.hpp"
#include "plugins/builtin.hpp"
#include "tools/offline_context.hpp"
#include "t/support/spawned.hpp"

namespace asmtpd::test {

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
public:
    TempDir() {
        const char* base = std::getenv("TMPDIR");
        std::string tmpl = std::string(base && *base ? base : "/tmp") + "/asmtpd-test-XXXXXX";
        std::vector<char> buf(tmpl.begin(), tmpl.end());
        buf.push_back('\0');
        REQUIRE(::mkdtemp(buf.data()) != nullptr);
        path_ = buf.data();
    }
    ~TempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    const std::string& path() const { return path_; }
    std::string operator/(std::string_view name) const { return path_ + "/" + std::string(name); }
    void write(std::string_view name, std::string_view content) const {
        std::ofstream f(*this / name, std::ios::binary | std::ios::trunc);
        REQUIRE(f.good());
        f << content;
    }

private:
    std::string path_;
};

inline std::string read_file(const std::string& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// Regular files directly inside dir (names only, sorted).
inline std::vector<std::string> list_dir(const std::string& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec)) out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

// What FakeContext owns and must outlive the OfflineContext part: the config directory, the
// loop (run until idle, then closed and checked) and the log file.
class FakeContextOwned {
protected:
    FakeContextOwned() {
        REQUIRE(uv_loop_init(&own_loop_) == 0);
        log_file_ = std::tmpfile();
        REQUIRE(log_file_ != nullptr);
        logger_ = std::make_unique<io::Logger>(io::Level::Debug, log_file_);
    }
    ~FakeContextOwned() {
        uv_run(&own_loop_, UV_RUN_DEFAULT);   // let close callbacks and stray work finish
        int rc = uv_loop_close(&own_loop_);
        CHECK_MESSAGE(rc == 0, "loop still had handles at teardown");
        std::fclose(log_file_);
    }

    TempDir dir_;
    uv_loop_t own_loop_{};
    std::FILE* log_file_ = nullptr;
    std::unique_ptr<io::Logger> logger_;
};

// tools/offline_context.hpp (the one offline Context, shared with asmtpd-plugtest) on a loop
// of its own, with a temporary config directory and a log the test can read.
class FakeContext final : private FakeContextOwned, public offline::OfflineContext {
public:
    FakeContext() : OfflineContext(&own_loop_, io::Log(logger_.get(), 0x1234, "test"), dir_.path()) {
        conn.id = 0x1234;
        conn.remote_ip = "192.0.2.10";
        conn.remote_port = 40000;
        conn.local_ip = "192.0.2.1";
        conn.local_port = 25;
        facts.hostname = "mx.example.org";
        facts.config_dir = dir_.path();
        facts.spool_dir = dir_.path();
        state_options.path = dir_.path() + "/state.mdb";
    }
    ~FakeContext() override { release(); }   // kills and reaps whatever a test left running

    // Config files live in a temp dir; writing one makes a new FlatConfig (it memoises).
    const TempDir& dir() const { return dir_; }
    void write_config(std::string_view name, std::string_view content) {
        dir_.write(name, content);
        set_config_dir(dir_.path());
    }

    // Runs the loop until nothing is pending.
    void run() { uv_run(&own_loop_, UV_RUN_DEFAULT); }
    // The test's own loop, for tests that drive libuv directly (plugins get reactor()).
    uv_loop_t* loop() { return &own_loop_; }
    std::string log_text() const {
        std::fflush(log_file_);
        std::string out;
        std::rewind(log_file_);
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, log_file_)) > 0) out.append(buf, n);
        return out;
    }

    // The resolver asks dns_server (a test's DnsTestServer address); unset, a closed loopback
    // port (every lookup fails fast), so no test ever reaches a real DNS server.
    io::DnsScope& dns() override {
        if (dns_options.servers.empty()) {
            dns_options.servers = {dns_server.empty() ? "127.0.0.1:" + std::to_string(free_port()) : dns_server};
            dns_options.timeout_ms = 1000;
            dns_options.attempts = 1;
        }
        io::DnsScope& scope = OfflineContext::dns();
        REQUIRE_MESSAGE(dns_error.empty(), dns_error);
        return scope;
    }

    std::string dns_server;   // "127.0.0.1:PORT" before the first dns()
};

// Records what a HookCall resolved to.
class VerdictSink final : public hooks::HookSink {
public:
    void hook_resolved(std::uint64_t token, hooks::Verdict v) override {
        ++resolves;
        last_token = token;
        verdict = std::move(v);
    }
    void hook_double_resolve(std::uint64_t) override { ++double_resolves; }
    bool hook_wanted(std::uint64_t) const override { return !verdict && wanted; }

    bool wanted = true;   // a test may set false to act as a chain that moved on
    std::optional<hooks::Verdict> verdict;
    int resolves = 0;
    int double_resolves = 0;
    std::uint64_t last_token = 0;
};

// One plugin, made from the builtin catalog by its config/plugins name, initialised with args.
class PluginHarness {
public:
    PluginHarness(FakeContext& ctx, std::string_view name, std::vector<std::string> args = {},
                  std::string instance = {})
        : PluginHarness(ctx, from_catalog(name), name, std::move(args), std::move(instance)) {}

    // A plugin that is not in the catalog (docs/plugins.md's example), named `name`.
    PluginHarness(FakeContext& ctx, std::unique_ptr<hooks::Plugin> plugin, std::string_view name,
                  std::vector<std::string> args = {}, std::string instance = {})
        : ctx_(ctx), plugin_(std::move(plugin)) {
        line_.name = std::string(name);
        line_.instance = instance.empty() ? line_.name : instance;
        line_.args = std::move(args);
        line_.file = "config/plugins";
        line_.line = 7;
        REQUIRE_MESSAGE(plugin_ != nullptr, "no builtin plugin named " << line_.name);
        plugin_->set_identity(line_.instance, ctx.facts.plugin_timeout);
        init_error = plugin_->init(hooks::PluginInit{line_, ctx.config(), ctx.facts});
        if (!init_error) {
            hooks::Registrar r(*plugin_, table_.data());
            plugin_->register_hooks(r);
        }
    }

    std::optional<std::string> init_error;
    hooks::Plugin& plugin() { return *plugin_; }
    std::size_t handlers(hooks::Hook h) const { return table_[static_cast<std::size_t>(h)].size(); }

    // Calls the hook's handlers in order until one answers something other than DECLINED,
    // running the loop while a handler is pending. nullopt if a handler never resolved.
    std::optional<hooks::Verdict> call(hooks::Hook h) { return call(h, hooks::default_args(h)); }
    std::optional<hooks::Verdict> call(hooks::Hook h, const hooks::HookArgs& args) {
        hooks::Verdict last = hooks::Verdict::declined();
        for (auto& entry : table_[static_cast<std::size_t>(h)]) {
            auto sink = start(entry, args);
            if (!sink->verdict) ctx_.run();
            if (!sink->verdict) return std::nullopt;
            CHECK(sink->resolves == 1);
            CHECK(sink->double_resolves == 0);
            last = *sink->verdict;
            if (last.result != hooks::Result::Declined) break;
        }
        return last;
    }

    // Starts the hook's only handler without running the loop; the sink shows when it resolves.
    std::shared_ptr<VerdictSink> start(hooks::Hook h) { return start(h, hooks::default_args(h)); }
    std::shared_ptr<VerdictSink> start(hooks::Hook h, const hooks::HookArgs& args) {
        auto& list = table_[static_cast<std::size_t>(h)];
        REQUIRE(list.size() == 1);
        return start(list.front(), args);
    }

    std::optional<hooks::Verdict> mail(std::string_view local, std::string_view domain) {
        return call(hooks::Hook::Mail, address_args(local, domain));
    }
    std::optional<hooks::Verdict> rcpt(std::string_view local, std::string_view domain) {
        return call(hooks::Hook::Rcpt, address_args(local, domain));
    }
    static hooks::HookArgs address_args(std::string_view local, std::string_view domain) {
        return hooks::AddressArgs{proto::Address{std::string(local), std::string(domain)}, {}};
    }

private:
    static std::unique_ptr<hooks::Plugin> from_catalog(std::string_view name) {
        for (const auto& e : plugins::builtin_plugins())
            if (name == e.name) return e.make();
        return nullptr;
    }

    std::shared_ptr<VerdictSink> start(hooks::HookEntry& entry, const hooks::HookArgs& args) {
        auto sink = std::make_shared<VerdictSink>();
        entry.handler(ctx_, args, hooks::HookCall(sink, ++token_));
        return sink;
    }

    FakeContext& ctx_;
    proto::PluginLine line_;
    std::unique_ptr<hooks::Plugin> plugin_;
    std::array<std::vector<hooks::HookEntry>, hooks::kHookCount> table_;
    std::uint64_t token_ = 100;
};

inline const char* result_name(const std::optional<hooks::Verdict>& v) {
    if (!v) return "(unresolved)";
    switch (v->result) {
        case hooks::Result::Declined: return "DECLINED";
        case hooks::Result::Ok: return "OK";
        case hooks::Result::Deny: return "DENY";
        case hooks::Result::DenySoft: return "DENYSOFT";
        case hooks::Result::DenyDisconnect: return "DENY_DISCONNECT";
        case hooks::Result::DenySoftDisconnect: return "DENYSOFT_DISCONNECT";
        case hooks::Result::Done: return "DONE";
    }
    return "?";
}

// The verdict's text, or "(unresolved)", so a failed check never dereferences an empty optional.
inline std::string text_of(const std::optional<hooks::Verdict>& v) { return v ? v->text : "(unresolved)"; }

}  // namespace asmtpd::test
