// reject_policy.cpp - qpsmtpd's get_reject. See reject_policy.hpp.
#include "plugins/common/reject_policy.hpp"

#include "plugins/common/karma_note.hpp"

namespace asmtpd::plugins {

std::optional<hooks::Result> reject_type_from_string(std::string_view s) {
    if (s == "perm" || s == "hard") return hooks::Result::Deny;
    if (s == "temp" || s == "soft") return hooks::Result::DenySoft;
    if (s == "disconnect") return hooks::Result::DenyDisconnect;
    if (s == "temp_disconnect") return hooks::Result::DenySoftDisconnect;
    return std::nullopt;
}

std::optional<std::string> RejectPolicy::read(const proto::ArgPairs& args) {
    if (auto r = args.get("reject")) {
        if (*r == "0") mode = Mode::log_only;
        else if (*r == "1") mode = Mode::reject;
        else if (*r == "naughty") mode = Mode::naughty;
        else return "reject must be 0, 1 or naughty, not '" + *r + "'";
    }
    if (auto t = args.get("reject_type")) {
        auto r = reject_type_from_string(*t);
        if (!r) return "reject_type must be perm, temp, disconnect or temp_disconnect, not '" + *t + "'";
        type = *r;
    }
    return std::nullopt;
}

std::optional<std::string> read_policy_args(const std::vector<std::string>& words,
                                            std::initializer_list<std::string_view> keys, proto::ArgPairs& args,
                                            RejectPolicy& policy, std::optional<std::uint64_t>& timeout_ms) {
    if (auto e = args.parse(words, keys)) return e;
    if (auto e = policy.read(args)) return e;
    if (auto t = args.get("timeout")) {
        timeout_ms = proto::parse_seconds_ms(*t);
        if (!timeout_ms) return "timeout must be seconds, not '" + *t + "'";
    }
    return std::nullopt;
}

hooks::Verdict RejectPolicy::apply(hooks::Context& ctx, std::string_view plugin, std::string reply,
                                   std::string_view log) const {
    switch (mode) {
    case Mode::log_only:
        ctx.log().info("{}: fail, tolerated, {}", plugin, log);
        return hooks::Verdict::declined();
    case Mode::naughty:
        ctx.log().info("{}: fail, NAUGHTY, {}", plugin, log);
        // qpsmtpd's plugins lower the karma when they fail someone; a refusal the naughty plugin
        // gives later is not counted again (karma leaves naughty's own deny out).
        if (mark_naughty(ctx, plugin, reply, type)) adjust_karma(ctx, -1);
        return hooks::Verdict::declined();
    case Mode::reject:
        break;
    }
    ctx.log().info("{}: fail, {}", plugin, log);
    hooks::Verdict v;
    v.result = type;
    v.text = std::move(reply);
    return v;
}

}  // namespace asmtpd::plugins
