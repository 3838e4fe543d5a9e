// service_notify.cpp - sd_notify messages to the service manager (see service_notify.hpp).
#include "core/io/service_notify.hpp"

#include <systemd/sd-daemon.h>

#include <ctime>
#include <string>

namespace asmtpd::io::service {

namespace {

void send(const std::string& message) { (void)sd_notify(0, message.c_str()); }

// RELOADING=1 carries the CLOCK_MONOTONIC time (systemd 253's Type=notify-reload wants it;
// older managers ignore the field).
std::string monotonic_usec() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return std::to_string(std::uint64_t(ts.tv_sec) * 1000000u + std::uint64_t(ts.tv_nsec) / 1000u);
}

// A STATUS= value is one line.
std::string one_line(std::string_view text) {
    std::string out(text);
    for (char& c : out)
        if (c == '\n' || c == '\r') c = ' ';
    return out;
}

}  // namespace

void ready(std::string_view text) { send("READY=1\nSTATUS=" + one_line(text)); }
void reloading() { send("RELOADING=1\nSTATUS=reloading configuration\nMONOTONIC_USEC=" + monotonic_usec()); }
void stopping(std::string_view text) { send("STOPPING=1\nSTATUS=" + one_line(text)); }
void status(std::string_view text) { send("STATUS=" + one_line(text)); }
void watchdog() { send("WATCHDOG=1"); }

std::uint64_t watchdog_interval_ms() {
    std::uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return 0;
    const std::uint64_t ms = usec / 2000;
    return ms == 0 ? 1 : ms;
}

Heartbeat::Heartbeat(uv_loop_t* loop) : timer_(loop), every_ms_(watchdog_interval_ms()) {
    if (every_ms_ == 0) return;
    timer_.unref();
    watchdog();
    arm();
}

void Heartbeat::arm() {
    timer_.start(every_ms_, [this] {
        watchdog();
        arm();
    });
}

}  // namespace asmtpd::io::service
