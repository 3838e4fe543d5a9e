// logging_tap.cpp - the session's logging hook; see logging_tap.hpp.
#include "core/smtp/logging_tap.hpp"

#include <string>

namespace asmtpd::smtp {

void LoggingTap::line(io::Level l, std::string_view tag, std::string_view msg) const {
    if (inside_ || std::this_thread::get_id() != loop_thread_) return;
    auto chain = chain_.lock();
    if (!chain) return;
    inside_ = true;
    chain->notify(hooks::Hook::Logging, hooks::LogArgs{l, std::string(tag), std::string(msg)});
    inside_ = false;
}

}  // namespace asmtpd::smtp
