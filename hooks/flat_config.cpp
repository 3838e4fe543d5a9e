// flat_config.cpp - qpsmtpd-style control files (see flat_config.hpp for the format).
//
// Blocking reads on purpose: this runs at start-up and reload, before any session exists.
// Never throw (std::filesystem calls use the error_code overloads) and never follow an
// include loop: the stack of files being read is checked by canonical path before opening.
#include "hooks/flat_config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <system_error>

namespace asmtpd::hooks {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kSpace = " \t\r\n\v\f";
constexpr std::string_view kInclude = "$include";

std::string_view trim(std::string_view s) {
    auto b = s.find_first_not_of(kSpace);
    if (b == std::string_view::npos) return {};
    auto e = s.find_last_not_of(kSpace);
    return s.substr(b, e - b + 1);
}

// Identity of a file for loop detection: "a", "./a" and "sub/../a" are the same file.
std::string canonical_key(const std::string& path) {
    std::error_code ec;
    auto c = fs::weakly_canonical(path, ec);
    return ec ? path : c.string();
}

}  // namespace

std::string FlatConfig::path(std::string_view name) const {
    if (!name.empty() && name.front() == '/') return std::string(name);
    if (dir_.empty()) return std::string(name);
    std::string p = dir_;
    if (p.back() != '/') p += '/';
    p += name;
    return p;
}

bool FlatConfig::exists(std::string_view name) const {
    std::error_code ec;
    return fs::is_regular_file(path(name), ec);
}

const std::vector<std::string>& FlatConfig::lines(std::string_view name) const {
    std::lock_guard lock(guard_.m);
    if (auto it = cache_.find(name); it != cache_.end()) return it->second;
    std::vector<std::string> out;
    std::vector<std::string> stack;
    std::string p = path(name);
    std::error_code ec;
    // A missing top-level file is normal (an optional control file): no warning.
    if (fs::exists(p, ec)) read_into(p, out, stack);
    return cache_.emplace(std::string(name), std::move(out)).first->second;
}

std::optional<std::string> FlatConfig::first(std::string_view name) const {
    const auto& l = lines(name);
    if (l.empty()) return std::nullopt;
    return l.front();
}

void FlatConfig::read_into(const std::string& p, std::vector<std::string>& out,
                           std::vector<std::string>& stack) const {
    std::string key = canonical_key(p);
    if (std::find(stack.begin(), stack.end(), key) != stack.end()) {
        std::string chain;
        for (const auto& s : stack) chain += s + " -> ";
        warnings_.push_back(p + ": $include loop (" + chain + key + "), not followed");
        return;
    }
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
        // All regular non-dot files, sorted by name (qpsmtpd); sub-directories are skipped.
        std::vector<std::string> files;
        for (fs::directory_iterator it(p, ec), end; !ec && it != end; it.increment(ec)) {
            auto fname = it->path().filename().string();
            std::error_code fec;
            if (fname.empty() || fname.front() == '.' || !it->is_regular_file(fec)) continue;
            files.push_back(it->path().string());
        }
        if (ec) {
            warnings_.push_back(p + ": cannot list directory: " + ec.message());
            return;
        }
        std::sort(files.begin(), files.end());
        stack.push_back(key);
        for (const auto& f : files) read_into(f, out, stack);
        stack.pop_back();
        return;
    }

    std::ifstream in(p, std::ios::binary);
    if (!in) {
        warnings_.push_back(p + ": cannot read: " + std::strerror(errno));
        return;
    }
    stack.push_back(key);
    std::string raw;
    int lineno = 0;
    while (std::getline(in, raw)) {
        ++lineno;
        std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#') continue;
        if (line.substr(0, kInclude.size()) == kInclude &&
            (line.size() == kInclude.size() || kSpace.find(line[kInclude.size()]) != std::string_view::npos)) {
            std::string_view target = trim(line.substr(kInclude.size()));
            if (target.empty() || target.find_first_of(kSpace) != std::string_view::npos) {
                warnings_.push_back(p + ":" + std::to_string(lineno) + ": malformed $include, ignored");
                continue;
            }
            std::string inc = path(target);   // relative names resolve in the config directory
            std::error_code iec;
            if (!fs::exists(inc, iec)) {
                warnings_.push_back(p + ":" + std::to_string(lineno) + ": $include " + std::string(target) +
                                    ": no such file or directory");
                continue;
            }
            read_into(inc, out, stack);
            continue;
        }
        out.emplace_back(line);
    }
    stack.pop_back();
}

}  // namespace asmtpd::hooks
