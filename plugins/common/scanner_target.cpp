// scanner_target.cpp - the daemon address of a scanning plugin (see scanner_target.hpp).
#include "plugins/common/scanner_target.hpp"

namespace asmtpd::plugins {

ScannerTarget scanner_target(std::string_view text, std::uint16_t default_port, std::string_view what) {
    ScannerTarget out;
    if (text.find('/') != std::string_view::npos && text.front() != '/') {
        out.error = std::string(what) + " '" + std::string(text) + "': a Unix socket needs an absolute path";
        return out;
    }
    std::string error;
    auto hop = client::parse_next_hop(text, default_port, error);
    if (!hop) {
        out.error = std::string(what) + " '" + std::string(text) + "': " + error;
        return out;
    }
    if (hop->needs_dns()) {
        out.error = std::string(what) + " '" + std::string(text) + "': give an IP address, localhost or a socket path";
        return out;
    }
    out.hop = std::move(*hop);
    return out;
}

}  // namespace asmtpd::plugins
