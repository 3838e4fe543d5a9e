// cmd_xforward.cpp - XFORWARD (Postfix, https://www.postfix.org/XFORWARD_README.html): a
// trusted content filter or proxy passes on who the original client was, for the next
// transaction only.
//
// Only peers in trusted_proxies may use it (the XCLIENT trust check; only they see it in
// EHLO); others get 550 5.7.0. Not inside a transaction (503 5.5.1); no attribute or a bad one
// gets 501 5.5.4. Unlike XCLIENT nothing starts over: no new greeting, no connect hooks, no
// tcp.env or per-IP accounting, relay_client and AUTH unchanged. What changes until the end of
// the next transaction (its final reply, a refusal that ends it, RSET, HELO/EHLO, STARTTLS,
// XCLIENT) is what plugins and the Received header see of the client: ADDR/PORT its address,
// NAME its checked name (the connection notes remote_host and rdns too), HELO its HELO name,
// PROTO the Received header's "with"; IDENT and SOURCE become the connection notes
// xforward_ident and xforward_source. Several XFORWARD commands add up (Postfix sends long
// lists in pieces). ADDR without NAME makes the name unknown (the connection's own name would
// be wrong for the forwarded address); ADDR=[UNAVAILABLE] keeps the connection's address, so
// plugins always get an IP address. Then everything is put back as it was.
// Must never: change what the connection is counted under (peer_ip() stays the proxy's) or
// let the connection's own reverse-name answer land on the forwarded client (it is awaited
// first, as for XCLIENT).
#include <fmt/format.h>

#include "core/smtp/session.hpp"

namespace asmtpd::smtp {

namespace {
const char* const kForwardNotes[] = {"remote_host", "rdns", "rdns_ptr", "xforward_ident", "xforward_source"};
}  // namespace

void Session::cmd_xforward(const proto::Command& c) {
    if (!proxy_command_allowed()) return;
    auto p = proto::parse_xforward(c.args);
    if (p.attrs.empty() && p.error == "no attributes") {
        reply(501, "5.5.4", "Syntax: XFORWARD attribute=value...");
        return;
    }
    if (!p.error.empty()) {
        reply(501, "5.5.4", "Bad XFORWARD attribute: " + p.error);
        return;
    }
    waiting_for_ = Wait::ClientName;
    with_client_name([this, attrs = std::move(p.attrs)] {
        if (phase_ >= Phase::Closing || waiting_for_ != Wait::ClientName) return;
        waiting_for_ = Wait::Nothing;
        apply_xforward(attrs);
        reply(250, "2.0.0", "Ok");
        after_chain();
    });
}

void Session::apply_xforward(const std::vector<proto::XforwardAttr>& attrs) {
    if (!xforward_) {
        Forwarded saved{info_.remote_ip, info_.remote_port, info_.remote_host, info_.helo_host, {}, false, {}};
        for (const char* n : kForwardNotes)
            if (auto it = notes_.find(n); it != notes_.end()) saved.notes.emplace_back(n, it->second);
        xforward_ = std::move(saved);
    }
    bool addr = false;
    for (const auto& a : attrs) {
        const std::string v = a.value.value_or("");
        if (a.name == "ADDR") {
            addr = true;
            info_.remote_ip = a.value ? v : xforward_->remote_ip;
        } else if (a.name == "PORT") {
            info_.remote_port = a.value ? static_cast<std::uint16_t>(std::stoul(v)) : 0;
        } else if (a.name == "NAME") {
            xforward_->name_given = true;
            info_.remote_host = v;
            notes_["remote_host"] = v.empty() ? "unknown" : v;
            notes_["rdns"] = ClientName::result_name(!v.empty()    ? ClientName::Result::confirmed
                                                     : a.temporary ? ClientName::Result::temperror
                                                                   : ClientName::Result::no_ptr);
            notes_.erase("rdns_ptr");
        } else if (a.name == "HELO") {
            info_.helo_host = v;
        } else if (a.name == "PROTO") {
            xforward_->proto = v;
        } else if (a.name == "IDENT") {
            if (a.value) notes_["xforward_ident"] = v;
            else notes_.erase("xforward_ident");
        } else if (a.name == "SOURCE") {
            if (a.value) notes_["xforward_source"] = v;
            else notes_.erase("xforward_source");
        }
    }
    if (addr && !xforward_->name_given) {
        info_.remote_host.clear();
        notes_["remote_host"] = "unknown";
        notes_.erase("rdns");
        notes_.erase("rdns_ptr");
    }
    auto note = [this](const char* n) {
        auto it = notes_.find(n);
        return it == notes_.end() ? std::string("-") : it->second;
    };
    log_.info("XFORWARD: client {}:{} name {} helo {} proto {} ident {} source {} (via {})", info_.remote_ip,
              info_.remote_port, info_.remote_host.empty() ? "unknown" : info_.remote_host,
              info_.helo_host.empty() ? "-" : info_.helo_host,
              xforward_->proto.empty() ? "-" : xforward_->proto, note("xforward_ident"),
              note("xforward_source"), xforward_->remote_ip);
}

void Session::end_xforward() {
    if (!xforward_) return;
    Forwarded saved = std::move(*xforward_);
    xforward_.reset();
    info_.remote_ip = std::move(saved.remote_ip);
    info_.remote_port = saved.remote_port;
    info_.remote_host = std::move(saved.remote_host);
    info_.helo_host = std::move(saved.helo_host);
    for (const char* n : kForwardNotes) notes_.erase(n);
    for (auto& [k, v] : saved.notes) notes_[k] = std::move(v);
    log_.debug("XFORWARD attributes dropped: client {} again", info_.remote_ip);
}

}  // namespace asmtpd::smtp
