// karma_note.cpp - karma_score and the deferred refusal notes; see karma_note.hpp.
#include "plugins/common/karma_note.hpp"

#include <algorithm>
#include <charconv>
#include <limits>
#include <string>

namespace asmtpd::plugins {

std::int64_t karma_score(const hooks::Notes& notes) {
    auto it = notes.find(kKarmaScoreNote);
    if (it == notes.end()) return 0;
    std::int64_t n = 0;
    const std::string& s = it->second;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), n);
    return ec == std::errc() && p == s.data() + s.size() ? n : 0;
}

std::int64_t adjust_karma(hooks::Context& ctx, std::int64_t delta) {
    auto& notes = ctx.notes();
    std::int64_t n = karma_score(notes);
    constexpr std::int64_t kLimit = std::numeric_limits<std::int32_t>::max();
    n = std::max(-kLimit, std::min(kLimit, n + delta));
    notes[std::string(kKarmaScoreNote)] = std::to_string(n);
    return n;
}

bool mark_naughty(hooks::Context& ctx, std::string_view plugin, std::string_view reply, hooks::Result type) {
    auto& notes = ctx.notes();
    std::string line = "(" + std::string(plugin) + ") " + std::string(reply);
    auto& naughty = notes[std::string(kNaughtyNote)];
    bool added = true;
    if (naughty.empty()) naughty = line;
    else if (("\r\n" + naughty + "\r\n").find("\r\n" + line + "\r\n") == std::string::npos) naughty += "\r\n" + line;
    else added = false;
    notes.try_emplace(std::string(kNaughtyTypeNote), std::string(hooks::to_string(type)));
    return added;
}

}  // namespace asmtpd::plugins
