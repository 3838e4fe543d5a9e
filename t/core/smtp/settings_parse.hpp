// settings_parse.hpp - helpers of the settings tests (settings_keys, settings_errors): parse a
// YAML text as conf/asmtpd.yaml, the one error a text must give, and a prefix check.
#pragma once

#include <doctest/doctest.h>

#include <string>

#include "core/smtp/settings.hpp"

namespace asmtpd::smtp::settings_parse {

inline const std::string kFile = "conf/asmtpd.yaml";

inline SettingsResult parse(const std::string& yaml) { return parse_settings(yaml, kFile); }

// The one error of a parse; fails the test if there is not exactly one.
inline std::string only_error(const std::string& yaml) {
    auto r = parse(yaml);
    INFO("yaml: ", yaml);
    REQUIRE(r.errors.size() == 1);
    return r.errors[0];
}

inline bool starts_with(const std::string& s, const std::string& p) { return s.rfind(p, 0) == 0; }

}  // namespace asmtpd::smtp::settings_parse
