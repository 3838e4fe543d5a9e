// session_ids.hpp - session ids unique across the workers of an instance and across restarts.
//
// An id is printed as %016x in every log line and seeds the queue ids, so two sessions must
// never share one: 32 bits of the second the counter was based at, 8 bits of worker index,
// 24 bits of counter. A worker restarted after a crash is started a second or more later, so
// its base differs; when the counter wraps (16.7 M sessions) the base moves on to the current
// second (or one past the old base if the clock has not moved), so ids never repeat.
#pragma once

#include <cstdint>

namespace asmtpd::smtp {

class SessionIds {
public:
    SessionIds(std::uint64_t now_seconds, unsigned worker) : base_(now_seconds & 0xffffffffu), worker_(worker & 0xffu) {}

    std::uint64_t next(std::uint64_t now_seconds) {
        if (++counter_ > kCounterMask) {
            const std::uint64_t now = now_seconds & 0xffffffffu;
            base_ = now > base_ ? now : ((base_ + 1) & 0xffffffffu);
            counter_ = 1;
        }
        return (base_ << 32) | (std::uint64_t{worker_} << 24) | counter_;
    }

private:
    static constexpr std::uint64_t kCounterMask = 0xffffff;
    std::uint64_t base_;
    std::uint64_t worker_;
    std::uint64_t counter_ = 0;
};

}  // namespace asmtpd::smtp
