// flat_config.hpp - qmail/qpsmtpd style flat control files (me, rcpthosts, badmailfrom, ...).
//
// Read as qpsmtpd reads them: one item a line, leading/trailing white space trimmed, blank
// lines and lines starting with '#' dropped, "$include name" pulls in another file (or all
// regular files of a directory, sorted), include loops are reported, not followed.
// Files are read synchronously, so this is for start-up and reload (plugin init()), never
// from a hook handler on the loop. Results are memoised per instance; a reload makes a new one.
// One instance may be shared by the worker threads: the memo is guarded by a mutex, and the
// references lines() returns stay valid (map nodes never move).
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace asmtpd::hooks {

class FlatConfig {
public:
    explicit FlatConfig(std::string dir) : dir_(std::move(dir)) {}

    const std::string& dir() const { return dir_; }
    // Path of name inside the config directory.
    std::string path(std::string_view name) const;
    bool exists(std::string_view name) const;
    // The file's items; empty when the file is missing.
    const std::vector<std::string>& lines(std::string_view name) const;
    // First item, or nullopt (qpsmtpd's scalar context).
    std::optional<std::string> first(std::string_view name) const;
    // Problems met while reading (include loops, unreadable files), as "file: message".
    const std::vector<std::string>& warnings() const { return warnings_; }

private:
    void read_into(const std::string& path, std::vector<std::string>& out,
                   std::vector<std::string>& stack) const;

    // A mutex that copies as a fresh one, so FlatConfig stays copyable and movable.
    struct Guard {
        std::mutex m;
        Guard() = default;
        Guard(const Guard&) {}
        Guard& operator=(const Guard&) { return *this; }
    };

    std::string dir_;
    mutable Guard guard_;
    mutable std::map<std::string, std::vector<std::string>, std::less<>> cache_;
    mutable std::vector<std::string> warnings_;
};

}  // namespace asmtpd::hooks
