// spp_program_policy.cpp - see spp_program_policy.hpp.
#include "plugins/spp/spp_program_policy.hpp"

#include <cstdint>

namespace asmtpd::plugins::spp {

namespace {
constexpr std::uint64_t kMaxSeconds = 7 * 24 * 3600;   // as asmtpd.yaml's other timeouts

std::optional<std::string> read_one(const proto::SettingNode& v, ProgramPolicy& p) {
    if (v.is_null()) return std::nullopt;
    if (v.kind != proto::SettingNode::Kind::Map)
        return v.error("expected a mapping of {timeout, on_timeout}, got " + v.describe());
    for (const auto& [key, value] : v.entries) {
        if (key == "timeout") {
            std::uint64_t secs = 0;
            bool digits = value.kind == proto::SettingNode::Kind::Scalar && !value.scalar.empty() &&
                          value.scalar.size() <= 9 && value.scalar.find_first_not_of("0123456789") == std::string::npos;
            if (digits) secs = std::stoull(value.scalar);
            if (!digits || secs < 1 || secs > kMaxSeconds)
                return value.error("expected whole seconds from 1 to " + std::to_string(kMaxSeconds) + ", got " +
                                   value.describe());
            p.timeout = std::chrono::seconds(secs);
        } else if (key == "on_timeout") {
            if (value.kind == proto::SettingNode::Kind::Scalar && value.scalar == "fail") p.continue_on_timeout = false;
            else if (value.kind == proto::SettingNode::Kind::Scalar && value.scalar == "continue") p.continue_on_timeout = true;
            else return value.error("expected one of fail, continue, got " + value.describe());
        } else {
            return value.error("unknown key (known: timeout, on_timeout)");
        }
    }
    return std::nullopt;
}
}  // namespace

std::optional<std::string> parse_program_policies(const proto::SettingNode& section,
                                                  std::map<std::string, ProgramPolicy>& out) {
    if (section.is_null()) return std::nullopt;
    if (section.kind != proto::SettingNode::Kind::Map)
        return section.error("expected a mapping of program lines to {timeout, on_timeout}, got " + section.describe());
    for (const auto& [line, value] : section.entries) {
        if (line.empty()) return value.error("a program line (as written in smtpplugins) is needed as the key");
        ProgramPolicy p;
        if (auto err = read_one(value, p)) return err;
        out[line] = p;
    }
    return std::nullopt;
}

}  // namespace asmtpd::plugins::spp
