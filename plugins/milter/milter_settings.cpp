// milter_settings.cpp - the milter plugin's arguments (see milter_settings.hpp).
#include "plugins/milter/milter_settings.hpp"

#include <fmt/format.h>

#include <utility>

#include "core/proto/plugin_args.hpp"

namespace asmtpd::plugins::milter {

namespace pm = proto::milter;
using pm::Stage;

std::optional<std::string> parse_settings(const std::vector<std::string>& line_args, Settings& s) {
    proto::ArgPairs args;
    if (auto err = args.parse(line_args,
                              {"socket", "connect_timeout", "command_timeout", "content_timeout", "default_action",
                               "protocol", "connect_macros", "helo_macros", "mail_macros", "rcpt_macros",
                               "data_macros", "end_of_header_macros", "end_of_data_macros", "reuse", "reuse_idle"}))
        return err;
    auto sock = args.get("socket");
    if (!sock) return "usage: milter socket unix:/path|inet:port@host [key value ...]";
    std::string error;
    auto hop = client::parse_milter_socket(*sock, error);
    if (!hop) return error;
    s.target = *hop;
    for (auto [key, field] : {std::pair{"connect_timeout", &client::MilterTimeouts::connect_ms},
                              std::pair{"command_timeout", &client::MilterTimeouts::command_ms},
                              std::pair{"content_timeout", &client::MilterTimeouts::content_ms}}) {
        if (auto v = args.get(key)) {
            auto ms = proto::parse_seconds_ms(*v);
            if (!ms || *ms == 0) return fmt::format("bad {} '{}'", key, *v);
            s.timeouts.*field = *ms;
        }
    }
    if (auto v = args.get("default_action")) {
        if (*v == "tempfail") s.default_action = DefaultAction::Tempfail;
        else if (*v == "accept") s.default_action = DefaultAction::Accept;
        else if (*v == "reject") s.default_action = DefaultAction::Reject;
        else return "bad default_action '" + *v + "' (tempfail, accept or reject)";
    }
    if (auto v = args.get("protocol"); v && *v != "6") return "bad protocol '" + *v + "' (only 6)";
    if (auto v = args.get("reuse")) {
        auto n = proto::parse_count(*v);
        if (!n || *n > 10000) return "bad reuse '" + *v + "' (idle connections kept per worker, 0 to 10000)";
        s.reuse = *n;
    }
    if (auto v = args.get("reuse_idle")) {
        auto ms = proto::parse_seconds_ms(*v);
        if (!ms || *ms == 0) return "bad reuse_idle '" + *v + "'";
        s.reuse_idle_ms = *ms;
    }
    for (std::size_t i = 0; i < pm::kStageCount; ++i) {
        auto key = macro_arg_name(static_cast<Stage>(i));
        if (auto v = args.get(key)) {
            auto list = parse_macro_list(*v, error);
            if (!list) return std::string(key) + ": " + error;
            s.macros[i] = std::move(*list);
        }
    }
    return std::nullopt;
}

}  // namespace asmtpd::plugins::milter
