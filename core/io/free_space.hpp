// free_space.hpp - how much room the filesystems holding spooled and queued mail have left,
// as the MAIL command needs it (limits.min_free_space), without a statvfs on every command.
//
// Each path's figures are at most max_age old when the answer is read: a stale entry is
// answered from what is known and refreshed on the thread pool (statvfs can block on a network
// filesystem; the loop never waits for it). A path seen for the first time is measured at once,
// so the first MAIL after start-up is judged on real figures. A path that cannot be measured
// (deleted, no permission) is not counted as full: the queue backend will say why it fails.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <uv.h>

namespace asmtpd::io {

// "0" (off), "123456" (bytes), "100K" / "64M" / "2G" (binary units) or "5%" of the filesystem.
struct SpaceThreshold {
    std::uint64_t bytes = 0;
    double percent = 0;   // used when bytes == 0
    bool off() const { return bytes == 0 && percent <= 0; }
};
std::optional<SpaceThreshold> parse_space_threshold(std::string_view text);

struct FsSpace {
    std::uint64_t available = 0;   // bytes an unprivileged writer may still use
    std::uint64_t total = 0;
};

class FreeSpaceMonitor {
public:
    explicit FreeSpaceMonitor(uv_loop_t* loop, std::chrono::milliseconds max_age = std::chrono::seconds(1));
    ~FreeSpaceMonitor();
    FreeSpaceMonitor(const FreeSpaceMonitor&) = delete;
    FreeSpaceMonitor& operator=(const FreeSpaceMonitor&) = delete;

    // The first path whose filesystem would fall below `limit` after `need` more bytes, or
    // nullopt when every one has room.
    std::optional<std::string> short_of_space(const std::vector<std::string>& paths, SpaceThreshold limit,
                                              std::uint64_t need);

private:
    struct Entry {
        std::optional<FsSpace> space;
        std::uint64_t measured_ms = 0;
        bool refreshing = false;
    };
    const Entry& entry(const std::string& path);

    uv_loop_t* loop_;
    std::chrono::milliseconds max_age_;
    std::map<std::string, Entry> entries_;
    std::shared_ptr<int> alive_ = std::make_shared<int>(0);   // pool jobs outliving us drop their result
};

}  // namespace asmtpd::io
