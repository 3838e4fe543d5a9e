// milter_macros.cpp - macro lists and values (see milter_macros.hpp).
#include "plugins/milter/milter_macros.hpp"

#include <optional>

#include "core/proto/text.hpp"

namespace asmtpd::plugins::milter {

using proto::milter::Stage;

namespace {

std::vector<std::string> words(std::string_view s) {
    std::vector<std::string> out;
    std::string cur;
    for (char c : s) {
        if (c == ' ' || c == ',') {
            if (!cur.empty()) out.push_back(std::move(cur));
            cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    if (!cur.empty()) out.push_back(std::move(cur));
    return out;
}

std::string_view note_or(const hooks::Notes& notes, const std::string& key) {
    auto it = notes.find(key);
    return it == notes.end() ? std::string_view{} : std::string_view(it->second);
}

}  // namespace

MacroLists default_macro_lists() {
    MacroLists m;
    m[0] = words("j {daemon_name} {daemon_addr} v _ {client_addr} {client_name} {client_port} {client_ptr}");
    m[1] = words("{tls_version} {cipher} {cipher_bits} {cert_subject} {cert_issuer}");
    m[2] = words("i {auth_type} {auth_authen} {auth_author} {mail_addr} {mail_host} {mail_mailer}");
    m[3] = words("i {rcpt_addr} {rcpt_host} {rcpt_mailer}");
    m[4] = words("i");
    m[5] = words("i");
    m[6] = words("i");
    return m;
}

std::optional<std::vector<std::string>> parse_macro_list(std::string_view text, std::string& error) {
    if (text == "none") return std::vector<std::string>{};
    auto out = words(text);
    for (const auto& w : out) {
        bool braced = w.front() == '{';
        bool ok = braced ? (w.size() > 2 && w.back() == '}') : w.find_first_of("{}") == std::string::npos;
        for (char c : w)
            if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) ok = false;
        if (braced && w.substr(1, w.size() - 2).find_first_of("{}") != std::string::npos) ok = false;
        if (!ok) {
            error = "bad macro name '" + w + "'";
            return std::nullopt;
        }
    }
    return out;
}

std::string_view macro_arg_name(Stage s) {
    switch (s) {
        case Stage::Connect: return "connect_macros";
        case Stage::Helo: return "helo_macros";
        case Stage::Mail: return "mail_macros";
        case Stage::Rcpt: return "rcpt_macros";
        case Stage::Data: return "data_macros";
        case Stage::Eom: return "end_of_data_macros";
        case Stage::Eoh: return "end_of_header_macros";
    }
    return "";
}

char stage_command(Stage s) {
    switch (s) {
        case Stage::Connect: return 'C';
        case Stage::Helo: return 'H';
        case Stage::Mail: return 'M';
        case Stage::Rcpt: return 'R';
        case Stage::Data: return 'T';
        case Stage::Eom: return 'E';
        case Stage::Eoh: return 'N';
    }
    return 'C';
}

proto::milter::Macros macro_values(hooks::Context& ctx, const std::vector<std::string>& names,
                                   const proto::Address* sender, const proto::Address* rcpt) {
    const auto& c = ctx.connection();
    const hooks::Transaction* t = ctx.transaction();
    if (!sender && t && t->sender) sender = &*t->sender;
    auto client_name = [&]() -> std::string {
        auto n = note_or(ctx.notes(), "remote_host");
        if (!n.empty()) return std::string(n);
        return c.remote_host.empty() ? "unknown" : c.remote_host;
    };
    proto::milter::Macros out;
    for (const auto& name : names) {
        std::string v;
        if (name == "j" || name == "{j}" || name == "{daemon_name}") v = ctx.server().hostname;
        else if (name == "{daemon_addr}") v = c.local_ip;
        else if (name == "{daemon_port}") v = c.local_port ? std::to_string(c.local_port) : "";
        else if (name == "v" || name == "{v}") v = "asmtpd";
        else if (name == "_" || name == "{_}") v = client_name() + " [" + c.remote_ip + "]";
        else if (name == "{client_addr}") v = c.remote_ip;
        else if (name == "{client_port}") v = c.remote_port ? std::to_string(c.remote_port) : "";
        else if (name == "{client_name}") v = client_name();
        else if (name == "{client_ptr}") {
            auto p = note_or(ctx.notes(), "rdns_ptr");
            v = std::string(p.substr(0, p.find_first_of(" ,")));
        } else if (name == "{client_connections}") v = std::to_string(c.connections_from_ip);
        else if (name == "{tls_version}") v = c.tls ? c.tls_version : "";
        else if (name == "{cipher}") v = c.tls ? c.tls_cipher : "";
        else if (name == "i" || name == "{i}") v = t ? t->id : "";
        else if (name == "{auth_type}") v = c.auth_method;
        else if (name == "{auth_authen}") v = c.auth_user;
        else if (name == "{mail_addr}") v = sender ? sender->bare() : "";
        else if (name == "{mail_host}") v = sender ? sender->domain : "";
        else if (name == "{mail_mailer}") v = sender ? "smtp" : "";
        else if (name == "{rcpt_addr}") v = rcpt ? rcpt->bare() : "";
        else if (name == "{rcpt_host}") v = rcpt ? rcpt->domain : "";
        else if (name == "{rcpt_mailer}") v = rcpt ? "smtp" : "";
        if (!v.empty()) out.emplace_back(name, std::move(v));
    }
    return out;
}

}  // namespace asmtpd::plugins::milter
