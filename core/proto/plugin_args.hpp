// plugin_args.hpp - parsing the words that follow a plugin's name in config/plugins.
//
// qpsmtpd plugins take either positional words or "key value" pairs; these helpers make both
// strict, so a typo ("wiat 2") fails start-up with a message instead of being ignored.
// Pure: no I/O, no logging. Errors are returned as text; the loader prefixes file:line.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::proto {

// "key value key value ..." with keys from a fixed set; each key at most once.
class ArgPairs {
public:
    // Returns an error message, or nullopt when every word was consumed.
    std::optional<std::string> parse(const std::vector<std::string>& args,
                                     std::initializer_list<std::string_view> keys);
    std::optional<std::string> get(std::string_view key) const;
    bool has(std::string_view key) const { return values_.find(key) != values_.end(); }

private:
    std::map<std::string, std::string, std::less<>> values_;
};

// Decimal digits only, no sign, no white space, no overflow.
std::optional<std::uint64_t> parse_count(std::string_view text);

// Seconds with an optional fraction ("1", "0.5", "2.125") as milliseconds, rounded down to
// whole milliseconds; at most one day. No sign, no exponent.
std::optional<std::uint64_t> parse_seconds_ms(std::string_view text);

// Splits a config line at its first run of white space: {"first", "rest (trimmed)"}.
std::pair<std::string_view, std::string_view> split_first_word(std::string_view line);

}  // namespace asmtpd::proto
