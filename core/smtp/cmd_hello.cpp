// cmd_hello.cpp - HELO and EHLO: the helo/ehlo hooks and the capability list.
//
// A second HELO/EHLO is allowed and resets the transaction (RFC 5321 §4.1.4), unlike
// qpsmtpd's 503. The host argument is logged and put in the Received header, so controls and
// spaces inside it are refused here.
#include <fmt/format.h>

#include "core/smtp/session.hpp"

namespace asmtpd::smtp {

namespace {
bool valid_helo_host(std::string_view h) {
    if (h.empty() || h.size() > 255) return false;
    for (unsigned char ch : h)
        if (ch <= 0x20 || ch == 0x7f) return false;
    return true;
}
}  // namespace

void Session::cmd_helo(const proto::Command& c, bool extended) {
    std::string_view host = c.args;
    if (host.empty()) {
        reply(501, "5.5.4", fmt::format("Syntax: {} hostname", extended ? "EHLO" : "HELO"));
        return;
    }
    // "EHLO host extra words" is tolerated (qpsmtpd passes them as extra args); only the first
    // word is the host.
    if (auto sp = host.find(' '); sp != std::string_view::npos) host = host.substr(0, sp);
    if (!valid_helo_host(host)) {
        reply(501, "5.5.2", "Invalid hostname");
        return;
    }
    reset_transaction();
    run_chain(extended ? hooks::Hook::Ehlo : hooks::Hook::Helo, hooks::HeloArgs{std::string(host)},
              [this, extended, host = std::string(host)](const hooks::Verdict& v, const hooks::Disposition& d) {
                  if (handle_refusal(d)) return;
                  info_.hello = extended ? proto::Hello::Ehlo : proto::Hello::Helo;
                  info_.helo_host = host;
                  const auto& f = runtime_->facts;
                  std::string first = v.text.empty()
                                          ? fmt::format("{} Hi {} {}", f.hostname, info_.remote_info(), info_.remote_literal())
                                          : v.text;
                  if (!extended) {
                      reply(proto::Reply::make(250, "", first));
                      return;
                  }
                  proto::Reply r = proto::Reply::make(250, "", first);
                  r.lines.push_back("PIPELINING");
                  r.lines.push_back(fmt::format("SIZE {}", f.databytes));
                  r.lines.push_back("8BITMIME");
                  r.lines.push_back("CHUNKING");
                  r.lines.push_back("ENHANCEDSTATUSCODES");
                  r.lines.push_back("SMTPUTF8");
                  r.lines.push_back("DSN");
                  if (runtime_->tls && !tls_) r.lines.push_back("STARTTLS");
                  if (auth_offered()) r.lines.push_back("AUTH " + auth_mechanisms());
                  if (xclient_allowed()) {
                      r.lines.push_back("XCLIENT " + std::string(proto::xclient_attribute_names()));
                      r.lines.push_back("XFORWARD " + std::string(proto::xforward_attribute_names()));
                  }
                  // Capabilities offered by plugins, one per line of the "capabilities" note.
                  if (auto it = notes_.find("capabilities"); it != notes_.end()) {
                      std::string_view caps = it->second;
                      while (!caps.empty()) {
                          auto nl = caps.find('\n');
                          auto cap = caps.substr(0, nl);
                          if (!cap.empty()) r.lines.emplace_back(cap);
                          if (nl == std::string_view::npos) break;
                          caps.remove_prefix(nl + 1);
                      }
                  }
                  reply(r);
              });
}

}  // namespace asmtpd::smtp
