// spp_env.cpp - building a qmail-spp program's environment. See spp_env.hpp for the layers.
#include "plugins/spp/spp_env.hpp"

#include <array>
#include <cstdlib>

#include "core/proto/cidr.hpp"

namespace asmtpd::plugins::spp {

namespace {
constexpr std::array<std::string_view, 3> kServerAllowlist = {"PATH", "TZ", "LANG"};

bool allowed_server_var(std::string_view name) {
    for (auto n : kServerAllowlist)
        if (n == name) return true;
    return false;
}

bool representable(std::string_view name, std::string_view value) {
    return !name.empty() && name.find('=') == std::string_view::npos && name.find('\0') == std::string_view::npos &&
           value.find('\0') == std::string_view::npos;
}

// Dotted quad for IPv4 (mapped or not), RFC 5952 for IPv6; the text as given if unparsable.
std::string canonical_ip(const std::string& ip) {
    auto a = proto::parse_ip(ip);
    return a ? a->to_string() : ip;
}
}  // namespace

ServerEnv ServerEnv::capture() {
    ServerEnv e;
    for (auto name : kServerAllowlist) {
        std::string n(name);
        if (const char* v = std::getenv(n.c_str())) e.vars.emplace_back(n, v);
    }
    return e;
}

ServerEnv ServerEnv::from(const std::vector<std::string>& entries) {
    ServerEnv e;
    for (const auto& entry : entries) {
        auto eq = entry.find('=');
        if (eq == std::string::npos) continue;
        std::string name = entry.substr(0, eq);
        if (allowed_server_var(name)) e.vars.emplace_back(name, entry.substr(eq + 1));
    }
    return e;
}

void add_tcpserver_vars(const proto::ConnectionInfo& c, std::string_view hostname, EnvMap& env) {
    const std::string remote = canonical_ip(c.remote_ip);
    const std::string local = canonical_ip(c.local_ip);
    env.emplace("PROTO", "TCP");
    env.emplace("TCPREMOTEIP", remote);
    env.emplace("TCPREMOTEPORT", std::to_string(c.remote_port));
    env.emplace("TCPLOCALIP", local);
    env.emplace("TCPLOCALPORT", std::to_string(c.local_port));
    if (!hostname.empty()) env.emplace("TCPLOCALHOST", std::string(hostname));
    if (!c.remote_host.empty()) env.emplace("TCPREMOTEHOST", c.remote_host);
    if (remote.find(':') != std::string::npos) {
        env.emplace("TCP6REMOTEIP", remote);
        env.emplace("TCP6REMOTEPORT", std::to_string(c.remote_port));
        env.emplace("TCP6LOCALIP", local);
        env.emplace("TCP6LOCALPORT", std::to_string(c.local_port));
    }
}

namespace {
constexpr const char* kClientVars[] = {"TCPREMOTEIP",   "TCPREMOTEPORT", "TCPREMOTEHOST", "TCP6REMOTEIP",
                                       "TCP6REMOTEPORT", "TCP6LOCALIP",   "TCP6LOCALPORT"};
}  // namespace

void follow_client(proto::ConnectionInfo& c, ClientVars& shown) {
    const bool connect_time = c.remote_ip == shown.ip && c.remote_port == shown.port;
    if (connect_time && !shown.saved) return;
    if (!shown.saved) {
        shown.saved.emplace();
        for (const char* n : kClientVars)
            if (auto it = c.env.find(n); it != c.env.end()) shown.saved->emplace(n, it->second);
    }
    for (const char* n : kClientVars) c.env.erase(n);
    if (connect_time) {
        for (auto& [k, v] : *shown.saved) c.env[k] = std::move(v);
        shown.saved.reset();
        return;
    }
    EnvMap fresh;
    add_tcpserver_vars(c, {}, fresh);
    for (const char* n : kClientVars)
        if (auto it = fresh.find(n); it != fresh.end()) c.env[n] = std::move(it->second);
}

std::vector<std::string> child_environment(const ServerEnv& server, const EnvMap& env) {
    std::vector<std::string> out;
    out.reserve(server.vars.size() + env.size());
    for (const auto& [name, value] : server.vars)
        if (!env.count(name) && representable(name, value)) out.push_back(name + "=" + value);
    for (const auto& [name, value] : env)
        if (representable(name, value)) out.push_back(name + "=" + value);
    return out;
}

std::string env_address(const proto::Address& a) {
    if (a.domain.empty()) return a.local;
    return a.local + "@" + a.domain;
}

void set_helo_vars(EnvMap& env, std::string_view helo) { env["SMTPHELOHOST"] = std::string(helo); }

void set_mail_address(EnvMap& env, const proto::Address& sender) { env["SMTPMAILFROM"] = env_address(sender); }

void set_rcpt_address(EnvMap& env, const proto::Address& rcpt) { env["SMTPRCPTTO"] = env_address(rcpt); }

void set_rcpt_counters(EnvMap& env, std::size_t accepted_before, std::size_t seen_including, bool hosts_ok) {
    env["SMTPRCPTCOUNT"] = std::to_string(accepted_before);
    env["SMTPRCPTCOUNTALL"] = std::to_string(seen_including);
    env["SMTPRCPTHOSTSOK"] = hosts_ok ? "1" : "0";
}

void set_pass_vars(EnvMap& env, const proto::Address& stored, std::size_t accepted_including) {
    env["SMTPRCPTCOUNT"] = std::to_string(accepted_including);
    set_rcpt_address(env, stored);
}

void set_auth_vars(EnvMap& env, std::string_view mechanism, std::string_view user) {
    std::string method(mechanism);
    for (auto& c : method)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    env["SMTPAUTHMETHOD"] = std::move(method);
    env["SMTPAUTHUSER"] = std::string(user);
}

}  // namespace asmtpd::plugins::spp
