// offline_context.hpp - a hooks::Context with no session behind it, on a loop its user runs:
// what asmtpd-plugtest gives the plugin it runs, and (through t/support/fake_context.hpp)
// what the unit tests give theirs. One copy, so the tool and the tests see plugins the same way.
//
// Rules: every field a plugin can see is public and settable; the loop is the owner's and must
// outlive this object. after() timers, children and the resolver are made on this loop and
// released by the destructor (or release(), for an owner that must close its loop first).
// end_session() does to a plugin what a disconnect does: lifetime() expires and pending after()
// callbacks never run. Header-only: tools/ and t/support are not libraries.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <uv.h>

#include "core/io/child_process.hpp"
#include "core/io/cpu_thread.hpp"
#include "core/io/log.hpp"
#include "core/io/resolver.hpp"
#include "core/io/state_store.hpp"
#include "core/io/timer.hpp"
#include "hooks/context.hpp"

namespace asmtpd::offline {

class OfflineContext : public hooks::Context {
public:
    OfflineContext(uv_loop_t* loop, io::Log log, const std::string& config_dir)
        : loop_(loop), reactor_(loop), log_(std::move(log)), config_(std::make_unique<hooks::FlatConfig>(config_dir)) {
        facts.config_dir = config_dir;
    }
    ~OfflineContext() override { release(); }
    OfflineContext(const OfflineContext&) = delete;
    OfflineContext& operator=(const OfflineContext&) = delete;

    // Settable state, public on purpose.
    proto::ConnectionInfo conn;
    std::optional<hooks::Transaction> txn;
    hooks::Notes notes_map;
    hooks::ServerFacts facts;
    std::size_t unread = 0;
    io::ResolverOptions dns_options;                    // read at the first dns()
    io::StateOptions state_options;                     // read at the first state(); an empty
                                                        // path means <facts.spool_dir>/state.mdb
    std::string dns_error;                              // why the resolver could not be made
    std::vector<std::string> reply_prefix;              // prefix_reply() lines, as given

    // A new FlatConfig for dir (it memoises what it read).
    void set_config_dir(const std::string& dir) { config_ = std::make_unique<hooks::FlatConfig>(dir); }
    void end_session() {
        alive_.reset();
        timers_.clear();
    }
    // Drops the transaction, timers, children (killed and reaped) and the resolver.
    void release() {
        txn.reset();
        timers_.clear();
        children_.reset();
        dns_scope_.reset();
        resolver_.reset();
        state_scope_.reset();
        state_.reset();
        cpu_.reset();
    }

    // hooks::Context
    proto::ConnectionInfo& connection() override { return conn; }
    hooks::Transaction* transaction() override { return txn ? &*txn : nullptr; }
    hooks::Notes& notes() override { return notes_map; }
    const hooks::FlatConfig& config() const override { return *config_; }
    const hooks::ServerFacts& server() const override { return facts; }
    const io::Reactor& reactor() const override { return reactor_; }
    const io::Log& log() const override { return log_; }
    std::size_t unread_input() const override { return unread; }
    void after(std::uint64_t ms, std::function<void()> fn) override {
        timers_.push_back(std::make_unique<io::Timer>(loop_));
        std::weak_ptr<const void> alive = alive_;
        timers_.back()->start(ms, [alive, fn = std::move(fn)] {
            if (!alive.expired()) fn();
        });
    }
    std::weak_ptr<const void> lifetime() const override { return alive_; }
    io::ChildRunner& children() override {
        if (!children_) children_ = std::make_unique<io::ChildRunner>(loop_, 4);
        return *children_;
    }
    void run_on_cpu_thread(std::function<void()> work, std::function<void()> after) override {
        if (!cpu_) cpu_ = std::make_unique<io::CpuThread>(loop_);
        cpu_->run(std::move(work), std::move(after));
    }
    void post_to_cpu_thread(std::function<void()> work) override {
        if (!cpu_) cpu_ = std::make_unique<io::CpuThread>(loop_);
        cpu_->post(std::move(work));
    }
    void prefix_reply(std::string line) override { reply_prefix.push_back(std::move(line)); }
    // A resolver made from dns_options; if c-ares refuses them, one with the defaults (and
    // dns_error says why), so a plugin always gets answers or failures, never a crash.
    io::DnsScope& dns() override {
        if (!dns_scope_) {
            resolver_ = io::Resolver::create(loop_, dns_options, dns_error);
            if (!resolver_) {
                log_.error("dns: {}", dns_error);
                std::string ignored;
                resolver_ = io::Resolver::create(loop_, io::ResolverOptions{}, ignored);
            }
            dns_scope_ = std::make_unique<io::DnsScope>(*resolver_);
        }
        return *dns_scope_;
    }
    io::StateScope& state() override {
        if (!state_scope_) {
            io::StateOptions o = state_options;
            if (o.path.empty()) o.path = facts.spool_dir + "/state.mdb";
            state_ = io::make_state_store(loop_, o);
            state_scope_ = std::make_unique<io::StateScope>(*state_);
        }
        return *state_scope_;
    }
    // The store behind state() (made on first use), for tests that look at its counters.
    io::StateStore* state_store() { return state_.get(); }

protected:
    void set_log(io::Log log) { log_ = std::move(log); }

private:
    uv_loop_t* loop_;
    io::Reactor reactor_;
    io::Log log_;
    std::unique_ptr<hooks::FlatConfig> config_;
    std::shared_ptr<const void> alive_ = std::make_shared<int>(0);
    std::vector<std::unique_ptr<io::Timer>> timers_;
    std::unique_ptr<io::ChildRunner> children_;   // made on first use
    std::unique_ptr<io::Resolver> resolver_;      // made on first dns()
    std::unique_ptr<io::DnsScope> dns_scope_;
    std::unique_ptr<io::StateStore> state_;       // made on first state()
    std::unique_ptr<io::StateScope> state_scope_;
    std::unique_ptr<io::CpuThread> cpu_;          // made on first run_on_cpu_thread()
};

}  // namespace asmtpd::offline
