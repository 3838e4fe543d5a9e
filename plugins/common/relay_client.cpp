// relay_client.cpp - qmail's RELAYCLIENT suffix (see relay_client.hpp for where it comes from).
#include "plugins/common/relay_client.hpp"

namespace asmtpd::plugins {

namespace {
constexpr std::string_view kUnset = "-";
}  // namespace

void note_relay_client(const proto::ConnectionInfo& c, hooks::Notes& notes) {
    if (notes.count(kRelayClientNote)) return;
    auto it = c.env.find("RELAYCLIENT");
    notes.emplace(std::string(kRelayClientNote), it == c.env.end() ? std::string(kUnset) : "=" + it->second);
}

void note_relay_client_auth(hooks::Notes& notes) { notes[std::string(kRelayClientNote)] = "="; }

std::optional<std::string> relay_suffix(const proto::ConnectionInfo& c, const hooks::Notes& notes) {
    // A relay client without RELAYCLIENT (relayclients file) relays with no suffix; one whose
    // right was taken away (norelayclients) gets none either.
    if (!c.relay_client) return std::nullopt;
    if (auto n = notes.find(kRelayClientNote); n != notes.end()) {
        if (n->second.empty() || n->second.front() != '=') return std::string();
        return n->second.substr(1);
    }
    auto it = c.env.find("RELAYCLIENT");
    return it == c.env.end() ? std::string() : it->second;
}

std::optional<proto::Address> append_relay_suffix(const proto::Address& a, std::string_view suffix) {
    if (suffix.empty()) return a;
    std::string text = a.domain.empty() ? a.local : a.local + "@" + a.domain;
    text += suffix;
    proto::Address out;
    auto at = text.rfind('@');
    if (at == std::string::npos) {
        out.local = text;
    } else {
        out.local = text.substr(0, at);
        out.domain = text.substr(at + 1);
    }
    if (out.local.empty()) return std::nullopt;
    // format() quotes the local part where it must ("a@b" from a suffix holding '@'); the
    // parser then checks every limit and refuses control bytes. UTF-8 may come from the
    // recipient (SMTPUTF8 was given) or from the operator's suffix.
    auto parsed = proto::parse_path(out.format(), proto::recipient_rules(true));
    if (!parsed) return std::nullopt;
    return *parsed;
}

}  // namespace asmtpd::plugins
