// dso_gate.cpp - the per-library FIFO in front of the thread pool (see dso_gate.hpp).
//
// Must never: hold the mutex while calling run_in_pool or any callback (a callback may submit
// again), or start more than limit_ entries at once. Ownership: each pool request holds a
// shared_ptr to the gate, so the gate outlives every call it started.
#include "plugins/dso/dso_gate.hpp"

#include <map>
#include <utility>
#include <vector>

#include "core/io/reactor.hpp"

namespace asmtpd::plugins::dso {

namespace {

struct HandleTable {
    std::mutex m;
    std::map<void*, std::weak_ptr<Gate>> gates;
};

HandleTable& handle_table() {
    static HandleTable table;   // see Gate::for_handle: mirrors dlopen's own process-wide table
    return table;
}

}  // namespace

std::shared_ptr<Gate> Gate::create(std::size_t limit) { return std::shared_ptr<Gate>(new Gate(limit)); }

std::shared_ptr<Gate> Gate::for_handle(void* handle) {
    HandleTable& t = handle_table();
    std::lock_guard<std::mutex> g(t.m);
    for (auto it = t.gates.begin(); it != t.gates.end();)
        it = it->second.expired() ? t.gates.erase(it) : std::next(it);
    if (auto existing = t.gates[handle].lock()) return existing;
    auto gate = create(1);
    t.gates[handle] = gate;
    return gate;
}

bool Gate::submit(Entry e) {
    {
        std::lock_guard<std::mutex> g(m_);
        if (wedged_locked()) return false;
        if (running_ >= limit_) {
            queue_.push_back(std::move(e));
            return true;
        }
        ++running_;
    }
    start(std::move(e));
    return true;
}

void Gate::start(Entry e) {
    auto self = shared_from_this();
    e.reactor->run_in_pool(std::move(e.work), [self, after = std::move(e.after)] {
        if (after) after();
        self->finished();
    });
}

void Gate::finished() {
    Entry next;
    {
        std::lock_guard<std::mutex> g(m_);
        --running_;
        if (queue_.empty() || running_ >= limit_ || wedged_locked()) return;
        next = std::move(queue_.front());
        queue_.pop_front();
        ++running_;
    }
    start(std::move(next));
}

void Gate::abandon() {
    std::vector<Entry> flushed;
    {
        std::lock_guard<std::mutex> g(m_);
        ++stuck_;
        ++abandoned_total_;
        if (!wedged_locked()) return;
        for (auto& e : queue_) flushed.push_back(std::move(e));
        queue_.clear();
    }
    for (auto& e : flushed)
        if (e.busy) e.busy();
}

void Gate::abandoned_returned() {
    std::lock_guard<std::mutex> g(m_);
    if (stuck_ > 0) --stuck_;
}

bool Gate::wedged() const {
    std::lock_guard<std::mutex> g(m_);
    return wedged_locked();
}

std::size_t Gate::running() const {
    std::lock_guard<std::mutex> g(m_);
    return running_;
}

std::size_t Gate::queued() const {
    std::lock_guard<std::mutex> g(m_);
    return queue_.size();
}

std::uint64_t Gate::abandoned_total() const {
    std::lock_guard<std::mutex> g(m_);
    return abandoned_total_;
}

}  // namespace asmtpd::plugins::dso
