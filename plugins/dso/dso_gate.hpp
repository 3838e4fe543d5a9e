// dso_gate.hpp - how calls into one shared object reach the thread pool: a FIFO with a cap on
// the calls in flight (1 = serialised, for plugins with static buffers), and the bookkeeping of
// calls that overran their deadline and were abandoned.
//
// Rules: a call never waits on a pool thread (waiting happens in the FIFO, on the loop side), so
// a hung plugin pins at most `limit` pool threads, never the whole pool. submit(), abandon() and
// the completion callbacks run on the loop thread; one gate serves one loop (asmtpd has one loop
// per process). The state is under a mutex anyway, so a test driving two loops one after the
// other stays correct. Never calls plugin code itself: `work` does.
// Ownership: shared by the Dso plugin instances using the library and by every in-flight call.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include <optional>

#include "core/io/reactor.hpp"

namespace asmtpd::plugins::dso {

class Gate : public std::enable_shared_from_this<Gate> {
public:
    struct Entry {
        std::optional<io::Reactor> reactor;
        std::function<void()> work;    // pool thread
        std::function<void()> after;   // loop thread, once work has returned
        std::function<void()> busy;    // loop thread, instead of both: the gate wedged first
    };

    static std::shared_ptr<Gate> create(std::size_t limit);
    // One gate per dlopen handle for plugins that are not thread-safe: two `dso` lines (or a
    // reload) naming the same file share the library's static buffers, so they must share the
    // serialisation too. This table is the one process-wide object of the dso plugin; it mirrors
    // dlopen's own (process-wide) table of loaded objects and holds only weak references.
    static std::shared_ptr<Gate> for_handle(void* handle);

    // Starts the entry now if a slot is free, else queues it. False (and nothing queued) when
    // the gate is wedged: the caller answers "busy" itself.
    bool submit(Entry e);
    // A running call passed its deadline: it keeps its slot until it returns. When every slot
    // is held by such a call, queued entries get their `busy` callback.
    void abandon();
    // Called (by the after wrapper) for an abandoned call that finally returned.
    void abandoned_returned();

    bool wedged() const;
    std::size_t limit() const { return limit_; }
    std::size_t running() const;
    std::size_t queued() const;
    std::uint64_t abandoned_total() const;

private:
    explicit Gate(std::size_t limit) : limit_(limit == 0 ? 1 : limit) {}
    void start(Entry e);
    void finished();
    bool wedged_locked() const { return stuck_ >= limit_; }

    const std::size_t limit_;
    mutable std::mutex m_;
    std::deque<Entry> queue_;
    std::size_t running_ = 0;   // entries whose work is in the pool (abandoned ones included)
    std::size_t stuck_ = 0;     // running entries past their deadline
    std::uint64_t abandoned_total_ = 0;
};

}  // namespace asmtpd::plugins::dso
