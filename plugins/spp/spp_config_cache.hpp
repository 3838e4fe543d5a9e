// spp_config_cache.hpp - smtpplugins files read off the loop and parsed once per version.
//
// A long-running server must behave as qmail-smtpd's one-process-per-connection reading: edits
// apply to the next connection (SPP.md §1 "Reload"). load() stats the file at most once a
// second per path (on libuv's thread pool, never the loop), re-reads and re-parses it only
// when its mtime, size or inode changed, and hands out an immutable snapshot that a session
// keeps for its whole life. Errors are values: a missing file is told apart from other
// failures (qmail-spp answers both with 421; "missing disable" turns spp off for the first).
// Owner: plugins/spp. The state is shared with pool jobs, so a reload that drops the plugin
// while a job runs is harmless.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "core/io/reactor.hpp"

#include "plugins/spp/spp_config.hpp"

namespace asmtpd::plugins::spp {

// What identifies one version of a file.
struct FileKey {
    std::int64_t mtime_ns = -1, size = -1;
    std::uint64_t ino = 0, dev = 0;
    bool operator==(const FileKey&) const = default;
};

struct FileRead {
    FileKey key;
    std::string text;
    std::string error;      // empty: read fine
    bool missing = false;   // ENOENT
};

// Blocking stat + read (a thread-pool job, start-up, or asmtpd-plugtest).
FileRead read_config_file(const std::string& path);

struct LoadOutcome {
    std::shared_ptr<const SppConfig> config;   // null: could not read (see error, missing)
    bool missing = false;
    bool reloaded = false;                     // parsed now: first use, or the file changed
    std::string error;
};

class ConfigCache {
public:
    using Then = std::function<void(LoadOutcome)>;
    // `then` runs on the loop thread: at once when the path was checked less than a second
    // ago, else once the pool job is back.
    void load(const io::Reactor& reactor, const std::string& path, Then then);
    // Start-up: a file already read (so the first connection does not wait).
    void seed(const std::string& path, const FileRead& read, std::shared_ptr<const SppConfig> config);

private:
    struct Entry {
        std::shared_ptr<const SppConfig> config;
        FileKey key;
        std::chrono::steady_clock::time_point checked;
    };
    struct State {
        std::mutex m;
        std::map<std::string, Entry, std::less<>> entries;
    };
    std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace asmtpd::plugins::spp
