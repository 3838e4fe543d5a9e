// service_notify.hpp - telling the service manager (systemd, Type=notify) what the daemon is
// doing: READY=1 once it accepts connections, RELOADING=1 ... READY=1 around a SIGHUP
// reload, STOPPING=1 when it drains, STATUS= lines for `systemctl status`, and WATCHDOG=1
// heartbeats from the event loop when the unit sets WatchdogSec.
//
// Through libsystemd's sd_notify: every call is a no-op when NOTIFY_SOCKET is not set (started
// by hand, by a test, or by another supervisor), and failures are ignored (the service manager
// going away must not stop mail). Only the main process may notify (NotifyAccess=main): with
// several workers the supervisor does, and the workers are built with notify off.
// The watchdog heartbeat runs on the loop, so a loop stuck for longer than WatchdogSec gets
// the daemon restarted; the timer is unref'd and never holds up a graceful stop.
#pragma once

#include <cstdint>
#include <string_view>

#include <uv.h>

#include "core/io/timer.hpp"

namespace asmtpd::io::service {

void ready(std::string_view status);
void reloading();
void stopping(std::string_view status);
void status(std::string_view text);

// Half of WATCHDOG_USEC in milliseconds when the service manager asks this process for
// heartbeats (systemd's recommendation), 0 otherwise.
std::uint64_t watchdog_interval_ms();
void watchdog();

// Sends WATCHDOG=1 every watchdog_interval_ms() from `loop` while it lives (nothing when the
// watchdog is off).
class Heartbeat {
public:
    explicit Heartbeat(uv_loop_t* loop);
    Heartbeat(const Heartbeat&) = delete;
    Heartbeat& operator=(const Heartbeat&) = delete;

private:
    void arm();
    Timer timer_;
    std::uint64_t every_ms_;
};

}  // namespace asmtpd::io::service
