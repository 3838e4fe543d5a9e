// session_dns.cpp - the session's side of the client's reverse name: started with the dialogue
// (after a PROXY header gave the real address), never awaited before the greeting, written to
// the connection (remote_host), the connection notes and the log when it ends.
//
// Notes set: remote_host (the forward-confirmed name, or "unknown"), rdns (confirmed,
// unconfirmed, no PTR, temperror) and rdns_ptr (the PTR names, space-separated).
#include <algorithm>
#include <chrono>

#include "core/smtp/session.hpp"

namespace asmtpd::smtp {

void Session::start_client_name() {
    ClientName* cn = client_name_.get();
    if (cn->started()) return;
    const auto plugin_ms = static_cast<std::uint64_t>(runtime_->facts.plugin_timeout.count());
    const std::uint64_t deadline = std::min<std::uint64_t>(runtime_->settings.dns.timeout * 1000ull, plugin_ms);
    cn->start(dns_, info_.remote_ip, deadline);
    cn->when_done([this, cn] {
        if (cn != client_name_.get()) return;   // XCLIENT named another client meanwhile
        const std::string& name = cn->confirmed();
        if (!name.empty()) info_.remote_host = name;
        std::string ptr;
        for (const auto& n : cn->ptr_names()) {
            if (!ptr.empty()) ptr += ' ';
            ptr += n;
        }
        const char* result = ClientName::result_name(cn->result());
        log_.info("client name: {} ({}{}{})", name.empty() ? "unknown" : name, result, ptr.empty() ? "" : ", PTR ", ptr);
        notes_["remote_host"] = name.empty() ? "unknown" : name;
        notes_["rdns"] = result;
        notes_["rdns_ptr"] = std::move(ptr);
    });
}

void Session::with_client_name(std::function<void()> fn) {
    start_client_name();
    client_name_->when_done(std::move(fn));
}

}  // namespace asmtpd::smtp
