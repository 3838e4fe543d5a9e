// milter_pool.hpp - one worker loop's idle milter connections, kept between SMTP sessions (the
// milter plugin's `reuse N`): parked with QUIT_NC after a session, taken by a later session
// instead of a new connect and option negotiation.
//
// Rules: one pool serves one loop and is used only on that loop's thread. A connection that
// broke while parked (the filter closed it, or sent anything) or that waited longer than the
// idle limit is closed, never handed out, at the next take() or put(). At most `max` wait; the
// newest is taken first, so in a quiet period the oldest age out. Shutdown: parked connections
// keep the loop alive, so while the pool holds any it also watches SIGTERM and SIGINT (the
// daemon's stop signals, next to the server's own watchers); on either it closes them and parks
// no more. With nothing parked it holds no libuv handle, so the loop can end. shutdown() and the
// destructor log nothing (plugins may be destroyed after the loop's logger).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <vector>

#include "core/client/milter_client.hpp"
#include "core/io/reactor.hpp"
#include "core/io/signals.hpp"

namespace asmtpd::client {

class MilterPool final : public std::enable_shared_from_this<MilterPool> {
public:
    static std::shared_ptr<MilterPool> create(const io::Reactor& reactor, std::size_t max,
                                              std::chrono::milliseconds idle_limit);
    ~MilterPool();
    MilterPool(const MilterPool&) = delete;
    MilterPool& operator=(const MilterPool&) = delete;

    // A parked connection that still works, or null.
    std::shared_ptr<MilterConnection> take();
    // Parks the connection (QUIT_NC) and keeps it; when it cannot be parked, the pool is full
    // or shutting down, ends it with QUIT instead. True when it was kept.
    bool put(std::shared_ptr<MilterConnection> mc);
    // Closes every parked connection and parks no more (the daemon stops).
    void shutdown();

    std::size_t idle() const { return idle_.size(); }

private:
    MilterPool(const io::Reactor& reactor, std::size_t max, std::chrono::milliseconds idle_limit);
    struct Idle {
        std::shared_ptr<MilterConnection> mc;
        std::uint64_t since_ms;
    };
    void sweep();
    void watch_signals(bool on);

    io::Reactor reactor_;
    std::size_t max_;
    std::uint64_t idle_limit_ms_;
    bool draining_ = false;
    std::vector<Idle> idle_;
    std::unique_ptr<io::StopSignals> stop_signals_;   // only while connections are parked
};

}  // namespace asmtpd::client
