// session_driver.hpp - runs a real smtp::Session over an in-memory Transport on a real loop,
// with a plugin list made of scriptable test plugins, so protocol tests need no socket
// (qpsmtpd's Test::Qpsmtpd). Header-only: t/support is not globbed by CMake.
//
// Test plugins (config/plugins syntax, see make_test_plugin):
//   test/answer HOOK RESULT [text...]     resolve at once
//   test/later  HOOK RESULT MS [text...]  resolve after MS milliseconds
//   test/never  HOOK                      keep the HookCall and never answer
//   test/drop   HOOK                      return without resolving (HookCall destroyed)
//   test/throw  HOOK                      throw std::runtime_error
//   test/twice  HOOK RESULT               resolve twice
//   test/record HOOK                      DECLINED, and append "hook:text" to a shared log note
//   test/prefix HOOK text                 prefix_reply(text), DECLINED
//   test/rewrite HOOK <addr>              DECLINED with Verdict::address = addr
//   test/observe HOOK                     DECLINED, and attach a BodyObserver that writes what it
//                                         saw to the connection note "observed" ("<bytes>:<chunks>:end")
//   test/received HOOK                    DECLINED, and store the transaction's Received block
//                                         in the connection note "received"
//   test/edit HOOK KIND NAME N [VALUE...]  DECLINED, after adding a header edit to the transaction
//                                         (KIND delete|rename|change|insert; insert: N is the
//                                         position; rename: VALUE is the new name)
#pragma once

#include <doctest/doctest.h>

#include <cstdio>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <uv.h>

#include "core/io/cpu_thread.hpp"
#include "core/io/timer.hpp"
#include "core/proto/plugin_list.hpp"
#include "core/smtp/runtime.hpp"
#include "core/smtp/session.hpp"
#include "hooks/registry.hpp"
#include "plugins/builtin.hpp"
#include "t/support/fake_context.hpp"

namespace asmtpd::test {

class MemoryTransport final : public io::Transport {
public:
    void set_listener(io::StreamListener* l) override { listener_ = l; }
    void write(std::string bytes) override {
        if (!closed_) written += bytes;
    }
    std::size_t queued_bytes() const override { return 0; }
    void pause_reading() override { paused = true; }
    void resume_reading() override { paused = false; }
    void close_after_flush() override { closed_ = true; }
    void close_now() override { closed_ = true; }
    bool closed() const override { return closed_; }

    std::string written;
    bool paused = false;

private:
    io::StreamListener* listener_ = nullptr;
    bool closed_ = false;
};

// The plugin of every test/* line.
class ScriptPlugin final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        kind_ = in.line.name.substr(5);
        const auto& a = in.line.args;
        if (a.empty()) return "needs a hook";
        auto h = hooks::hook_from_name(a[0]);
        if (!h) return "unknown hook " + a[0];
        hook_ = *h;
        std::size_t next = 1;
        if (kind_ == "answer" || kind_ == "later" || kind_ == "twice") {
            if (a.size() < 2) return "needs a result";
            auto r = hooks::result_from_string(a[1]);
            if (!r) return "unknown result " + a[1];
            result_ = *r;
            next = 2;
        }
        if (kind_ == "later") {
            if (a.size() < 3) return "needs milliseconds";
            ms_ = std::stoul(a[2]);
            next = 3;
        }
        for (std::size_t i = next; i < a.size(); ++i) text_ += (text_.empty() ? "" : " ") + a[i];
        return std::nullopt;
    }
    void register_hooks(hooks::Registrar& r) override {
        r.on_any(hook_, [this](hooks::Context& ctx, const hooks::HookArgs& args, hooks::HookCall call) {
            handle(ctx, args, std::move(call));
        });
    }

private:
    void handle(hooks::Context& ctx, const hooks::HookArgs& args, hooks::HookCall call) {
        hooks::Verdict v{result_, text_, {}};
        if (kind_ == "answer") call.resolve(v);
        else if (kind_ == "twice") {
            call.resolve(v);
            call.resolve(hooks::Verdict::deny("second"));
        } else if (kind_ == "later") {
            ctx.after(ms_, [call, v] { call.resolve(v); });
        } else if (kind_ == "never") {
            kept_.push_back(std::move(call));
        } else if (kind_ == "drop") {
            // the HookCall dies unresolved
        } else if (kind_ == "throw") {
            throw std::runtime_error("scripted failure");
        } else if (kind_ == "prefix") {
            ctx.prefix_reply(text_);
            call.declined();
        } else if (kind_ == "rewrite") {
            auto a = proto::parse_path(text_, proto::AddressRules{});
            hooks::Verdict v;
            if (a) v.address = *a;
            call.resolve(std::move(v));
        } else if (kind_ == "observe") {
            if (auto* t = ctx.transaction()) t->body_observers.push_back(std::make_shared<Observer>(ctx.notes()));
            call.declined();
        } else if (kind_ == "received") {
            if (auto* t = ctx.transaction()) ctx.notes()["received"] = t->received;
            call.declined();
        } else if (kind_ == "edit") {
            if (auto* t = ctx.transaction()) t->header_edits.push_back(edit());
            call.declined();
        } else if (kind_ == "record") {
            ctx.notes()["record"] += std::string(hooks::hook_name(hook_)) + ":" + describe(args) + ";";
            call.declined();
        }
    }
    struct Observer final : hooks::BodyObserver {
        explicit Observer(hooks::Notes& n) : notes(n) {}
        void content(std::string_view b) override {
            seen.append(b);
            ++chunks;
        }
        void end() override { notes["observed"] = seen + "|" + std::to_string(chunks) + "|end"; }
        hooks::Notes& notes;   // the session's: outlives the transaction
        std::string seen;
        int chunks = 0;
    };
    // test/edit's words after the hook: KIND NAME N [VALUE...] (text_ holds them).
    proto::HeaderEdit edit() const {
        std::vector<std::string> words;
        std::istringstream in(text_);
        for (std::string w; in >> w;) words.push_back(w);
        REQUIRE(words.size() >= 3);
        std::string value;
        for (std::size_t i = 3; i < words.size(); ++i) value += (value.empty() ? "" : " ") + std::string(words[i]);
        const std::size_t n = std::stoul(std::string(words[2]));
        const std::string name(words[1]);
        if (words[0] == "rename") return proto::HeaderEdit::rename(name, n, value);
        if (words[0] == "change") return proto::HeaderEdit::change(name, n, value);
        if (words[0] == "insert") return proto::HeaderEdit::insert(n, name, value);
        return proto::HeaderEdit::remove(name, n);
    }
    // What test/record writes for one call: the address, else the text argument.
    static std::string describe(const hooks::HookArgs& args) {
        if (const auto* a = std::get_if<hooks::AddressArgs>(&args)) return a->address.format();
        if (const auto* h = std::get_if<hooks::HeloArgs>(&args)) return h->host;
        if (const auto* p = std::get_if<hooks::PathArgs>(&args)) return p->path;
        if (const auto* x = std::get_if<hooks::ArgumentArgs>(&args)) return x->argument;
        if (const auto* c = std::get_if<hooks::CommandArgs>(&args)) return c->arguments;
        if (const auto* r = std::get_if<hooks::ResetArgs>(&args)) return r->client_rset ? "RSET" : "";
        if (const auto* u = std::get_if<hooks::AuthArgs>(&args)) return u->user;
        if (const auto* r = std::get_if<hooks::ReceivedArgs>(&args)) return r->protocol;
        if (const auto* l = std::get_if<hooks::LogArgs>(&args)) return l->message;
        return {};
    }
    std::string kind_;
    hooks::Hook hook_ = hooks::Hook::Count_;
    hooks::Result result_ = hooks::Result::Declined;
    std::uint64_t ms_ = 0;
    std::string text_;
    std::vector<hooks::HookCall> kept_;
};

inline std::unique_ptr<hooks::Plugin> make_script_plugin() { return std::make_unique<ScriptPlugin>(); }

// Builtins plus the test/* plugins.
inline std::vector<hooks::CatalogEntry> test_catalog() {
    std::vector<hooks::CatalogEntry> c(plugins::builtin_plugins().begin(), plugins::builtin_plugins().end());
    for (const char* n : {"test/answer", "test/later", "test/never", "test/drop", "test/throw", "test/twice", "test/record", "test/prefix", "test/rewrite", "test/received", "test/observe", "test/edit"})
        c.push_back({n, &make_script_plugin});
    return c;
}

class SessionDriver final : public smtp::SessionOwner {
public:
    // plugins: config/plugins text. yaml: asmtpd.yaml text (spool_dir is forced into the temp dir).
    explicit SessionDriver(const std::string& plugins, const std::string& yaml = "",
                           const std::vector<std::pair<std::string, std::string>>& files = {})
        : logger_(std::make_unique<io::Logger>(std::getenv("ASMTPD_TEST_DEBUG") ? io::Level::Debug : io::Level::Error)) {
        uv_loop_init(&loop_);
        children_.emplace(&loop_, 16);
        dir_.write("asmtpd.yaml", "hostname: mx.test\nspool_dir: " + (dir_ / "spool") + "\n" + yaml);
        dir_.write("plugins", plugins);
        for (const auto& [name, content] : files) dir_.write(name, content);
        catalog_ = test_catalog();
        std::vector<std::string> errors;
        runtime_ = smtp::load_runtime(dir_.path(), catalog_, errors);
        for (const auto& e : errors) MESSAGE(e);
        REQUIRE(runtime_);
        // dns.servers from the yaml, else a closed loopback port: never the machine's resolver.
        io::ResolverOptions dns;
        dns.servers = runtime_->settings.dns.servers;
        if (dns.servers.empty()) dns.servers = {"127.0.0.1:" + std::to_string(free_port())};
        dns.timeout_ms = runtime_->settings.dns.timeout * 1000;
        dns.attempts = 1;
        std::string error;
        resolver_ = io::Resolver::create(&loop_, dns, error);
        REQUIRE_MESSAGE(resolver_, error);
    }
    ~SessionDriver() override {
        session_.reset();
        children_.reset();
        resolver_.reset();
        state_.reset();
        cpu_.reset();
        uv_run(&loop_, UV_RUN_NOWAIT);
        uv_run(&loop_, UV_RUN_DEFAULT);
        uv_loop_close(&loop_);
    }

    // Before connect(): log at `level` into a temporary file (log_text() reads it), so tests of
    // the logging hook see info lines without writing them to the test's stderr.
    void capture_log(io::Level level) {
        log_file_.reset(std::tmpfile());
        REQUIRE(log_file_);
        logger_ = std::make_unique<io::Logger>(level, log_file_.get());   // a Logger owns its sink: not copied
    }
    std::string log_text() {
        if (!log_file_) return {};
        std::fflush(log_file_.get());
        std::rewind(log_file_.get());
        std::string out;
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, log_file_.get())) > 0) out.append(buf, n);
        return out;
    }

    // Connects and runs until the greeting (or refusal) is written.
    std::string connect(const std::string& ip = "127.0.0.1") {
        auto t = std::make_unique<MemoryTransport>();
        transport_ = t.get();
        proto::ConnectionInfo info;
        info.id = 1;
        info.remote_ip = ip;
        info.remote_port = 40000;
        info.local_ip = "127.0.0.1";
        info.local_port = 25;
        session_ = std::make_unique<smtp::Session>(&loop_, *this, std::move(t), info, runtime_, *logger_);
        session_->start();
        return take_reply();
    }
    // Sends bytes and returns everything written until a complete reply is there (or 2 s).
    std::string send(const std::string& bytes, int replies = 1) {
        session_->on_read(bytes);
        return take_reply(replies);
    }
    std::string take_reply(int replies = 1, int max_ms = 2000) {
        run_until([&] { return count_replies(transport_->written) >= replies || finished; }, max_ms);
        std::string out = std::move(transport_->written);
        transport_->written.clear();
        return out;
    }
    void run_for(int ms) {
        run_until([] { return false; }, ms);
    }
    template <class Pred>
    void run_until(Pred pred, int max_ms) {
        io::Timer tick(&loop_);
        std::uint64_t start = uv_now(&loop_);
        while (!pred() && uv_now(&loop_) - start < static_cast<std::uint64_t>(max_ms)) {
            tick.start(5, [] {});
            uv_run(&loop_, UV_RUN_ONCE);
            uv_update_time(&loop_);
        }
    }
    static int count_replies(const std::string& s) {
        int n = 0;
        std::size_t pos = 0;
        while (pos < s.size()) {
            auto eol = s.find("\r\n", pos);
            if (eol == std::string::npos) break;
            if (eol - pos >= 4 && s[pos + 3] == ' ') ++n;
            pos = eol + 2;
        }
        return n;
    }

    void session_finished(smtp::Session&) override { finished = true; }
    io::ChildRunner& children() override { return *children_; }
    io::CpuThread& cpu_thread() override {
        if (!cpu_) cpu_.emplace(&loop_);
        return *cpu_;
    }
    io::Resolver& resolver() override { return *resolver_; }
    // The embedded store in the test's directory (nothing is opened until a plugin uses it).
    io::StateStore& state_store() override {
        if (!state_) {
            io::StateOptions o;
            o.path = dir_.path() + "/state.mdb";
            state_ = io::make_state_store(&loop_, o);
        }
        return *state_;
    }
    bool closed() const { return transport_->closed(); }
    smtp::Session& session() { return *session_; }
    const TempDir& dir() const { return dir_; }

    bool finished = false;

private:
    TempDir dir_;
    uv_loop_t loop_;
    struct FileCloser {
        void operator()(std::FILE* f) const { std::fclose(f); }
    };
    std::unique_ptr<std::FILE, FileCloser> log_file_;   // declared before logger_: outlives it
    std::unique_ptr<io::Logger> logger_;
    std::optional<io::ChildRunner> children_;   // made after uv_loop_init, gone before uv_loop_close
    std::unique_ptr<io::Resolver> resolver_;
    std::unique_ptr<io::StateStore> state_;
    std::optional<io::CpuThread> cpu_;          // made on first use, gone before uv_loop_close
    std::vector<hooks::CatalogEntry> catalog_;
    std::shared_ptr<const smtp::Runtime> runtime_;
    std::unique_ptr<smtp::Session> session_;
    MemoryTransport* transport_ = nullptr;
};

inline int code_of(const std::string& reply) { return reply.size() >= 3 ? std::stoi(reply.substr(0, 3)) : 0; }

}  // namespace asmtpd::test
