// spp_config_cache.cpp - reading smtpplugins on the thread pool, parsing once per version.
#include "plugins/spp/spp_config_cache.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "core/io/reactor.hpp"

namespace asmtpd::plugins::spp {

namespace {
using Clock = std::chrono::steady_clock;
constexpr auto kRecheckEvery = std::chrono::seconds(1);
}  // namespace

FileRead read_config_file(const std::string& path) {
    FileRead r;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        r.missing = errno == ENOENT;
        r.error = std::strerror(errno);
        return r;
    }
    if (!S_ISREG(st.st_mode)) {
        r.error = "not a regular file";
        return r;
    }
    r.key.mtime_ns = static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    r.key.size = static_cast<std::int64_t>(st.st_size);
    r.key.ino = st.st_ino;
    r.key.dev = st.st_dev;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        r.error = std::strerror(errno);
        return r;
    }
    std::stringstream ss;
    ss << in.rdbuf();
    if (in.bad()) r.error = "read failed";
    else r.text = ss.str();
    return r;
}

void ConfigCache::seed(const std::string& path, const FileRead& read, std::shared_ptr<const SppConfig> config) {
    std::lock_guard<std::mutex> g(state_->m);
    state_->entries[path] = Entry{std::move(config), read.key, Clock::now()};
}

void ConfigCache::load(const io::Reactor& reactor, const std::string& path, Then then) {
    auto state = state_;
    {
        std::unique_lock<std::mutex> g(state->m);
        auto it = state->entries.find(path);
        if (it != state->entries.end() && Clock::now() - it->second.checked < kRecheckEvery) {
            LoadOutcome o;
            o.config = it->second.config;
            g.unlock();
            return then(std::move(o));
        }
    }
    auto job = std::make_shared<FileRead>();
    reactor.run_in_pool(
        [job, path] { *job = read_config_file(path); },
        [state, job, path, then = std::move(then)] {
            LoadOutcome o;
            {
                std::lock_guard<std::mutex> g(state->m);
                if (!job->error.empty()) {
                    state->entries.erase(path);
                    o.error = job->error;
                    o.missing = job->missing;
                } else {
                    Entry& e = state->entries[path];
                    if (!e.config || !(e.key == job->key)) {
                        e.config = std::make_shared<const SppConfig>(parse_spp_config(job->text));
                        e.key = job->key;
                        o.reloaded = true;
                    }
                    e.checked = Clock::now();
                    o.config = e.config;
                }
            }
            then(std::move(o));
        });
}

}  // namespace asmtpd::plugins::spp
