// scanner_target.hpp - where a content-scanning plugin (spamassassin, virus/clamdscan) finds its
// daemon: "HOST:PORT", "HOST" (the daemon's usual port) or a Unix socket path.
//
// HOST must be an IP literal ("127.0.0.1", "[::1]:783") or localhost: a scan runs once per
// message at data_post, and a DNS lookup there would add a failure mode for nothing (the daemon
// sits next to the MTA). A value containing "/" is a Unix socket (qpsmtpd's rule), which must be
// an absolute path. Pure: no I/O.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "core/client/next_hop.hpp"

namespace asmtpd::plugins {

struct ScannerTarget {
    std::optional<client::NextHop> hop;
    std::string error;   // for the start-up message, naming `what` (the argument)
    explicit operator bool() const { return hop.has_value(); }
};

ScannerTarget scanner_target(std::string_view text, std::uint16_t default_port, std::string_view what);

}  // namespace asmtpd::plugins
