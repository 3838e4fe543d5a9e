// child_env.cpp - see child_env.hpp. One definition of the tcpserver-style environment, shared by
// queue/qmail-queue and auth/checkpassword (spp builds a richer one in plugins/spp/spp_env.cpp).
#include "plugins/common/child_env.hpp"

#include "core/proto/plugin_args.hpp"

namespace asmtpd::plugins {

bool valid_env_name(std::string_view n) {
    if (n.empty() || (n[0] >= '0' && n[0] <= '9')) return false;
    for (char c : n)
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
    return true;
}

bool protected_env_name(std::string_view name, const std::vector<std::string>& extra) {
    if (name == "PATH" || name.substr(0, 3) == "LD_") return true;
    for (const auto& e : extra)
        if (e == name) return true;
    return false;
}

std::optional<std::string> add_env_assignment(std::string_view v, EnvMap& into) {
    auto eq = v.find('=');
    if (eq == std::string_view::npos || !valid_env_name(v.substr(0, eq)) || v.find('\0') != std::string_view::npos)
        return "bad env '" + std::string(v) + "' (NAME=VALUE)";
    into[std::string(v.substr(0, eq))] = std::string(v.substr(eq + 1));
    return std::nullopt;
}

bool is_child_option(std::string_view w) { return w == "timeout" || w == "env"; }

std::optional<std::string> take_child_option(const std::vector<std::string>& args, std::size_t& i,
                                             std::uint64_t& timeout_ms, EnvMap& env) {
    const std::string& w = args[i];
    if (i + 1 >= args.size()) return "'" + w + "' needs a value";
    const std::string& v = args[++i];
    if (w == "env") return add_env_assignment(v, env);
    auto ms = proto::parse_seconds_ms(v);
    if (!ms || *ms == 0) return "bad timeout '" + v + "' (seconds, more than 0)";
    timeout_ms = *ms;
    return std::nullopt;
}

std::vector<std::string> tcpserver_environment(const proto::ConnectionInfo& c, const EnvMap& extra) {
    EnvMap env;
    env["PATH"] = "/usr/local/bin:/usr/bin:/bin";
    env["PROTO"] = "TCP";
    env["TCPLOCALIP"] = c.local_ip;
    env["TCPLOCALPORT"] = std::to_string(c.local_port);
    env["TCPREMOTEIP"] = c.remote_ip;
    env["TCPREMOTEPORT"] = std::to_string(c.remote_port);
    if (!c.remote_host.empty()) env["TCPREMOTEHOST"] = c.remote_host;
    if (c.relay_client) env["RELAYCLIENT"] = "";
    for (const auto& [k, v] : c.env) env[k] = v;
    // qmail's AUTH patches: a login gives programs its user, method and relaying; without one,
    // nothing in the environment may pass for a login.
    if (!c.auth_user.empty()) {
        env["SMTPAUTHUSER"] = c.auth_user;
        env["SMTPAUTHMETHOD"] = c.auth_method;
        env["TCPREMOTEINFO"] = c.auth_user;
        env["RELAYCLIENT"] = "";
    } else {
        env.erase("SMTPAUTHUSER");
        env.erase("SMTPAUTHMETHOD");
    }
    for (const auto& [k, v] : extra) env[k] = v;
    std::vector<std::string> out;
    out.reserve(env.size());
    for (const auto& [k, v] : env)
        if (valid_env_name(k) && v.find('\0') == std::string::npos) out.push_back(k + "=" + v);
    return out;
}

}  // namespace asmtpd::plugins
