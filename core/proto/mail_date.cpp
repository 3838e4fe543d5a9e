// mail_date.cpp - RFC 5322 date-time to epoch seconds. See mail_date.hpp.
//
// Two steps: a lexer turns the value into words, numbers and the punctuation the grammar uses
// (",", ":", "+", "-"), dropping comments and white space; then the grammar is matched token
// by token. Any other character (a '.', a '/') makes the value unparseable, as it should: a
// date we cannot read is not checked (the headers plugin logs "date not parseable").
#include "core/proto/mail_date.hpp"

#include <array>
#include <string>
#include <vector>

#include "core/proto/text.hpp"

namespace asmtpd::proto {

namespace {

struct Token {
    enum class Kind { Word, Number, Punct } kind;
    std::string_view text;
};

// Skips a comment starting at s[i] == '('; false when it never closes.
bool skip_comment(std::string_view s, std::size_t& i) {
    int depth = 0;
    for (; i < s.size(); ++i) {
        char c = s[i];
        if (c == '\\') {
            ++i;
            continue;
        }
        if (c == '(') ++depth;
        if (c == ')' && --depth == 0) {
            ++i;
            return true;
        }
    }
    return false;
}

bool lex(std::string_view s, std::vector<Token>& out) {
    std::size_t i = 0;
    while (i < s.size()) {
        char c = s[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
            ++i;
        } else if (c == '(') {
            if (!skip_comment(s, i)) return false;
        } else if (c == ',' || c == ':' || c == '+' || c == '-') {
            out.push_back({Token::Kind::Punct, s.substr(i, 1)});
            ++i;
        } else if (is_digit(c) || is_alpha(c)) {
            const bool digits = is_digit(c);
            std::size_t j = i;
            while (j < s.size() && (digits ? is_digit(s[j]) : is_alpha(s[j]))) ++j;
            if (j - i > 16) return false;   // no token of the grammar is that long
            out.push_back({digits ? Token::Kind::Number : Token::Kind::Word, s.substr(i, j - i)});
            i = j;
        } else {
            return false;
        }
        if (out.size() > 32) return false;
    }
    return true;
}

constexpr std::array<std::string_view, 7> kDays = {"monday", "tuesday", "wednesday", "thursday",
                                                   "friday", "saturday", "sunday"};
constexpr std::array<std::string_view, 12> kMonths = {"january", "february", "march",     "april",
                                                      "may",     "june",     "july",      "august",
                                                      "september", "october", "november", "december"};

// The 3-letter abbreviation or the full name, any case.
bool name_matches(std::string_view word, std::string_view full) {
    std::string w = to_lower(word);
    return w == full || (w.size() == 3 && full.substr(0, 3) == w);
}

std::optional<unsigned> month_of(std::string_view word) {
    for (unsigned m = 0; m < kMonths.size(); ++m)
        if (name_matches(word, kMonths[m])) return m + 1;
    return std::nullopt;
}

bool is_day_name(std::string_view word) {
    for (auto d : kDays)
        if (name_matches(word, d)) return true;
    return false;
}

unsigned number(std::string_view digits) {
    unsigned v = 0;
    for (char c : digits) v = v * 10 + static_cast<unsigned>(c - '0');
    return v;
}

// Minutes east of UTC for a zone name (RFC 5322 §4.3).
std::optional<int> zone_of(std::string_view word) {
    std::string w = to_upper(word);
    struct Zone {
        std::string_view name;
        int minutes;
    };
    static constexpr Zone kZones[] = {{"UT", 0},        {"GMT", 0},       {"UTC", 0},       {"Z", 0},
                                      {"EST", -5 * 60}, {"EDT", -4 * 60}, {"CST", -6 * 60}, {"CDT", -5 * 60},
                                      {"MST", -7 * 60}, {"MDT", -6 * 60}, {"PST", -8 * 60}, {"PDT", -7 * 60}};
    for (const auto& z : kZones)
        if (w == z.name) return z.minutes;
    // Military zones: their sign was defined backwards in RFC 822, so §4.3 says -0000.
    if (w.size() == 1 && w[0] != 'J') return 0;
    return std::nullopt;
}

bool leap(std::int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(std::int64_t y, unsigned m) {
    static constexpr unsigned kDaysIn[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : kDaysIn[m - 1];
}

}  // namespace

// Howard Hinnant's days_from_civil.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const auto yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

std::optional<std::int64_t> parse_mail_date(std::string_view value) {
    std::vector<Token> t;
    if (!lex(value, t)) return std::nullopt;
    std::size_t i = 0;
    auto at = [&](Token::Kind k, std::string_view text = {}) {
        return i < t.size() && t[i].kind == k && (text.empty() || t[i].text == text);
    };

    if (at(Token::Kind::Word) && is_day_name(t[i].text)) {
        ++i;
        if (at(Token::Kind::Punct, ",")) ++i;
    }
    if (!at(Token::Kind::Number) || t[i].text.size() > 2) return std::nullopt;
    const unsigned day = number(t[i++].text);
    if (!at(Token::Kind::Word)) return std::nullopt;
    const auto month = month_of(t[i++].text);
    if (!month) return std::nullopt;
    if (!at(Token::Kind::Number) || t[i].text.size() < 2 || t[i].text.size() > 4) return std::nullopt;
    std::int64_t year = number(t[i].text);
    if (t[i].text.size() == 2) year += year < 50 ? 2000 : 1900;
    else if (t[i].text.size() == 3) year += 1900;
    ++i;

    if (!at(Token::Kind::Number) || t[i].text.size() > 2) return std::nullopt;
    const unsigned hour = number(t[i++].text);
    if (!at(Token::Kind::Punct, ":")) return std::nullopt;
    ++i;
    if (!at(Token::Kind::Number) || t[i].text.size() != 2) return std::nullopt;
    const unsigned minute = number(t[i++].text);
    unsigned second = 0;
    if (at(Token::Kind::Punct, ":")) {
        ++i;
        if (!at(Token::Kind::Number) || t[i].text.size() != 2) return std::nullopt;
        second = number(t[i++].text);
    }

    int offset = 0;   // minutes east of UTC
    if (at(Token::Kind::Punct, "+") || at(Token::Kind::Punct, "-")) {
        const bool minus = t[i].text == "-";
        ++i;
        if (!at(Token::Kind::Number) || t[i].text.size() != 4) return std::nullopt;
        const unsigned hhmm = number(t[i++].text);
        if (hhmm % 100 > 59) return std::nullopt;
        offset = static_cast<int>(hhmm / 100 * 60 + hhmm % 100) * (minus ? -1 : 1);
    } else if (at(Token::Kind::Word)) {
        auto z = zone_of(t[i++].text);
        if (!z) return std::nullopt;
        offset = *z;
    }
    if (i != t.size()) return std::nullopt;

    if (day < 1 || day > days_in_month(year, *month) || hour > 23 || minute > 59 || second > 60) return std::nullopt;
    if (second == 60) second = 59;
    return days_from_civil(year, *month, day) * 86400 + hour * 3600 + minute * 60 + second -
           static_cast<std::int64_t>(offset) * 60;
}

}  // namespace asmtpd::proto
