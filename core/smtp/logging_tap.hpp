// logging_tap.hpp - qpsmtpd's `logging` hook: every line a session logs (at or below
// log_level) is offered to the plugins that registered `logging`, with its level and tag.
//
// Rules: results are ignored and nobody waits (notify). A plugin's own log lines while it runs
// inside the logging hook are not fed back (qpsmtpd mutes them too), so a logging plugin
// cannot loop. Lines logged on another thread than the session's loop, or after the session's
// chain is gone, only go to the log.
#pragma once

#include <memory>
#include <string_view>
#include <thread>

#include "core/io/log.hpp"
#include "hooks/chain.hpp"

namespace asmtpd::smtp {

class LoggingTap final : public io::LogTap {
public:
    explicit LoggingTap(std::weak_ptr<hooks::ChainRunner> chain)
        : chain_(std::move(chain)), loop_thread_(std::this_thread::get_id()) {}
    void line(io::Level l, std::string_view tag, std::string_view msg) const override;

private:
    std::weak_ptr<hooks::ChainRunner> chain_;
    std::thread::id loop_thread_;
    mutable bool inside_ = false;
};

}  // namespace asmtpd::smtp
