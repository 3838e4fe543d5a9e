// NAME
//   hosts_allow - per-IP connection limit and an allow/deny list, before the session starts.
// SYNOPSIS
//   hosts_allow [max N]    N: most sessions one IP may hold open (default: asmtpd.yaml
//                          limits.max_connections_per_ip); 0 means unlimited
// CONFIG
//   hosts_allow     "ADDRESS CONSTANT [message]" a line. ADDRESS is an IP, a network
//                   ("192.0.2.0/24", "2001:db8::/32") or a qmail prefix ("10."). CONSTANT is
//                   OK, DENY, DENYSOFT, DENY_DISCONNECT, DENYSOFT_DISCONNECT or DECLINED (any
//                   case). The first matching line wins. A line that does not parse fails
//                   start-up, naming the line.
// HOOKS
//   pre_connection: a matching line's constant is the answer (with its message, if any), except
//   that DECLINED only ends the file lookup; OK also skips the connection count. Then, when the
//   peer holds more than N sessions (this one included): DENYSOFT "Too many connections from
//   your IP" (421 and close). Otherwise DECLINED.
// Rules: the file is read once in init(); unlike qpsmtpd (IPv4 only until #330) IPv6 works.
#include <memory>
#include <string>
#include <vector>

#include "core/proto/text.hpp"
#include "core/proto/ip_list.hpp"
#include "hooks/plugin.hpp"
#include "core/proto/plugin_args.hpp"

namespace asmtpd::plugins {

namespace {

std::optional<hooks::Result> constant_from(std::string_view word) {
    using hooks::Result;
    struct Row { std::string_view name; Result r; };
    static constexpr Row kRows[] = {
        {"OK", Result::Ok},
        {"DENY", Result::Deny},
        {"DENYSOFT", Result::DenySoft},
        {"DENY_DISCONNECT", Result::DenyDisconnect},
        {"DENYSOFT_DISCONNECT", Result::DenySoftDisconnect},
        {"DECLINED", Result::Declined},
    };
    for (const auto& row : kRows)
        if (proto::iequals(row.name, word)) return row.r;
    return std::nullopt;
}

class HostsAllow final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        max_ = in.server.max_connections_per_ip;
        proto::ArgPairs pairs;
        if (auto err = pairs.parse(in.line.args, {"max"})) return *err;
        if (auto m = pairs.get("max")) {
            auto n = proto::parse_count(*m);
            if (!n) return "max wants a number, got '" + *m + "'";
            max_ = static_cast<std::size_t>(*n);
        }
        for (const auto& line : in.config.lines("hosts_allow")) {
            auto [address, rest] = proto::split_first_word(line);
            auto [word, message] = proto::split_first_word(rest);
            auto net = proto::parse_ip_entry(address);
            auto constant = constant_from(word);
            if (!net || !constant)
                return in.config.path("hosts_allow") + ": bad line '" + line +
                       "' (want: ADDRESS OK|DENY|DENYSOFT|DENY_DISCONNECT|DENYSOFT_DISCONNECT|DECLINED [message])";
            rules_.push_back({*net, *constant, std::string(message)});
        }
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::PreConnection>(&HostsAllow::on_pre_connection);
    }

private:
    struct Rule {
        proto::Cidr net;
        hooks::Result result;
        std::string message;
    };

    void on_pre_connection(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        const auto& conn = ctx.connection();
        for (const auto& rule : rules_) {
            if (!rule.net.contains(conn.remote_ip)) continue;
            if (rule.result == hooks::Result::Declined) break;
            if (hooks::is_deny(rule.result))
                ctx.log().info("{} refused by hosts_allow rule {}", conn.remote_ip, rule.net.to_string());
            return call.resolve({rule.result, rule.message, {}});
        }
        if (max_ != 0 && conn.connections_from_ip > max_) {
            ctx.log().notice("{} holds {} connections, limit {}", conn.remote_ip, conn.connections_from_ip, max_);
            return call.deny_soft("Too many connections from your IP");
        }
        call.declined();
    }

    std::size_t max_ = 0;
    std::vector<Rule> rules_;
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_hosts_allow() { return std::make_unique<HostsAllow>(); }

}  // namespace asmtpd::plugins
