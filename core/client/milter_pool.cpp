// milter_pool.cpp - one loop's parked milter connections (see milter_pool.hpp).
#include "core/client/milter_pool.hpp"

namespace asmtpd::client {

MilterPool::MilterPool(const io::Reactor& reactor, std::size_t max, std::chrono::milliseconds idle_limit)
    : reactor_(reactor), max_(max), idle_limit_ms_(static_cast<std::uint64_t>(idle_limit.count())) {}

std::shared_ptr<MilterPool> MilterPool::create(const io::Reactor& reactor, std::size_t max,
                                               std::chrono::milliseconds idle_limit) {
    return std::shared_ptr<MilterPool>(new MilterPool(reactor, max, idle_limit));
}

MilterPool::~MilterPool() {
    // Parked connections wait for a CONNECT, where libmilter allows no QUIT: they just close.
    for (auto& i : idle_) i.mc->close(false);
}

void MilterPool::sweep() {
    const auto now = reactor_.now_ms();
    auto dead = [&](const Idle& i) { return i.mc->broken() || now - i.since_ms > idle_limit_ms_; };
    for (auto& i : idle_)
        if (dead(i)) i.mc->close(false);
    std::erase_if(idle_, dead);
    if (idle_.empty()) watch_signals(false);
}

std::shared_ptr<MilterConnection> MilterPool::take() {
    sweep();
    if (idle_.empty()) return nullptr;
    auto mc = std::move(idle_.back().mc);
    idle_.pop_back();
    if (idle_.empty()) watch_signals(false);
    return mc;
}

bool MilterPool::put(std::shared_ptr<MilterConnection> mc) {
    sweep();
    if (draining_ || idle_.size() >= max_ || !mc->park()) {
        mc->close(true);
        return false;
    }
    idle_.push_back({std::move(mc), reactor_.now_ms()});
    watch_signals(true);
    return true;
}

void MilterPool::shutdown() {
    draining_ = true;
    for (auto& i : idle_) i.mc->close(false);
    idle_.clear();
    watch_signals(false);
}

void MilterPool::watch_signals(bool on) {
    if (!on) return stop_signals_.reset();
    if (stop_signals_) return;
    std::weak_ptr<MilterPool> weak = weak_from_this();
    stop_signals_ = std::make_unique<io::StopSignals>(reactor_.native(), [weak] {
        if (auto me = weak.lock()) me->shutdown();
    });
}

}  // namespace asmtpd::client
