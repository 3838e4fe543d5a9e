// cmd_xclient.cpp - XCLIENT (Postfix, https://www.postfix.org/XCLIENT_README.html): a
// trusted front end (a proxy, a content filter, a test tool) tells us who the real client is.
//
// Only peers in trusted_proxies may use it (and only they see it in EHLO); others get
// 550 5.7.0. Not inside a transaction (503 5.5.1). The attributes replace what the session
// knows (ADDR/PORT the client, DESTADDR/DESTPORT our side, NAME its checked reverse name,
// HELO its HELO name, LOGIN an authenticated user); then the session starts over as a new
// connection from that client: tcp.env and the per-IP limit for the new address, connection
// notes cleared, pre_connection and connect hooks again, and a new 220 greeting. Without
// NAME the client's name is looked up for the new address. The reverse-name lookup of the
// old address is waited for first, so its answer can never land on the new client.
#include <fmt/format.h>

#include "core/smtp/session.hpp"

namespace asmtpd::smtp {

bool Session::xclient_allowed() {
    if (!xclient_peer_) xclient_peer_ = runtime_->trusted_proxies.matches(info_.remote_ip);
    return *xclient_peer_;
}

// XCLIENT and XFORWARD: only from trusted_proxies, and only between transactions (Postfix's replies).
bool Session::proxy_command_allowed() {
    if (!xclient_allowed()) {
        reply(550, "5.7.0", "Error: insufficient authorization");
        return false;
    }
    if (txn_) {
        reply(503, "5.5.1", "Error: MAIL transaction in progress");
        return false;
    }
    return true;
}

void Session::cmd_xclient(const proto::Command& c) {
    if (!proxy_command_allowed()) return;
    auto p = proto::parse_xclient(c.args);
    if (!p.error.empty()) {
        reply(501, "5.5.4", "Bad XCLIENT attribute: " + p.error);
        return;
    }
    waiting_for_ = Wait::ClientName;
    with_client_name([this, attrs = std::move(p.attrs)] {
        if (phase_ >= Phase::Closing || waiting_for_ != Wait::ClientName) return;
        waiting_for_ = Wait::Nothing;
        apply_xclient(attrs);
        after_chain();
    });
}

void Session::apply_xclient(const std::vector<proto::XclientAttr>& attrs) {
    end_xforward();   // XFORWARD attributes are forgotten; old_ip is the counted address
    const std::string old_ip = info_.remote_ip;
    std::optional<std::string> name;   // set when NAME was given ("" = unavailable)
    std::optional<std::string> helo, login;
    for (const auto& a : attrs) {
        const std::string v = a.value.value_or("");
        if (a.name == "ADDR" && a.value) info_.remote_ip = v;
        else if (a.name == "PORT" && a.value) info_.remote_port = static_cast<std::uint16_t>(std::stoul(v));
        else if (a.name == "DESTADDR" && a.value) info_.local_ip = v;
        else if (a.name == "DESTPORT" && a.value) info_.local_port = static_cast<std::uint16_t>(std::stoul(v));
        else if (a.name == "NAME") name = v;
        else if (a.name == "HELO") helo = v;
        else if (a.name == "LOGIN") login = v;
    }
    log_.info("XCLIENT: client {}:{} name {} (via {})", info_.remote_ip, info_.remote_port,
              name ? (name->empty() ? "unavailable" : *name) : "to be looked up", old_ip);

    // As a new connection from that client.
    reset_transaction();
    notes_.clear();
    info_.hello = proto::Hello::None;
    info_.helo_host = helo.value_or("");
    info_.auth_user = login.value_or("");
    info_.auth_method = info_.auth_user.empty() ? "" : "XCLIENT";
    info_.relay_client = !info_.auth_user.empty();
    info_.remote_host.clear();
    info_.env.clear();
    if (runtime_->client_env) {
        auto m = runtime_->client_env->lookup(info_.remote_ip);
        if (!m.allowed) {
            reply(554, "5.7.1", "Connection from you denied");
            close_session("tcp.env deny");
            return;
        }
        info_.env = m.vars;
        if (info_.env.count("RELAYCLIENT")) info_.relay_client = true;
    }
    if (info_.remote_ip != old_ip && owner_.peer_changed(*this, old_ip)) {
        reply(421, "4.7.0", runtime_->facts.hostname + " Error: too many connections from your IP");
        close_session("too many connections from " + info_.remote_ip);
        return;
    }
    old_client_names_.push_back(std::move(client_name_));
    client_name_ = std::make_unique<ClientName>();
    if (name) {
        client_name_->assume(*name);
        info_.remote_host = *name;
        notes_["remote_host"] = name->empty() ? "unknown" : *name;
        notes_["rdns"] = ClientName::result_name(client_name_->result());
    }
    begin_dialogue();
}

}  // namespace asmtpd::smtp
