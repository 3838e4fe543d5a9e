// privileges.cpp - see privileges.hpp. Runs before the loop starts, so it may block (passwd
// lookups through NSS) and report with plain strings.
#include "core/smtp/privileges.hpp"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include <fmt/format.h>

#include "core/proto/plugin_args.hpp"

namespace asmtpd::smtp {

namespace {

constexpr std::uint64_t kMaxId = 0xfffffffeULL;   // (uid_t)-1 means "unchanged" to the kernel

struct Account {
    uid_t uid = 0;
    gid_t gid = 0;                 // primary group from passwd
    std::string name;              // empty: a numeric uid without a passwd entry
};

std::optional<Account> lookup_user(const std::string& spec) {
    passwd pw{}, *found = nullptr;
    std::vector<char> buf(16384);
    if (auto n = proto::parse_count(spec)) {
        if (*n > kMaxId) return std::nullopt;
        Account a;
        a.uid = static_cast<uid_t>(*n);
        a.gid = a.uid;   // no entry: the same-numbered group, as spp's user does
        if (::getpwuid_r(a.uid, &pw, buf.data(), buf.size(), &found) == 0 && found) {
            a.gid = pw.pw_gid;
            a.name = pw.pw_name;
        }
        return a;
    }
    if (::getpwnam_r(spec.c_str(), &pw, buf.data(), buf.size(), &found) != 0 || !found) return std::nullopt;
    return Account{pw.pw_uid, pw.pw_gid, pw.pw_name};
}


// The user's groups from /etc/group (initgroups' list), with gid first; just gid for a uid
// without a name.
std::vector<gid_t> groups_of(const Account& a, gid_t gid) {
    std::vector<gid_t> out{gid};
    if (a.name.empty()) return out;
    int n = 64;
    std::vector<gid_t> list(static_cast<std::size_t>(n));
    if (::getgrouplist(a.name.c_str(), gid, list.data(), &n) < 0) {
        list.resize(static_cast<std::size_t>(n));
        if (::getgrouplist(a.name.c_str(), gid, list.data(), &n) < 0) return out;
    }
    list.resize(static_cast<std::size_t>(n));
    for (gid_t g : list)
        if (std::find(out.begin(), out.end(), g) == out.end()) out.push_back(g);
    return out;
}

std::string errno_text() { return std::strerror(errno); }

}  // namespace

std::optional<gid_t> lookup_group(const std::string& spec) {
    if (auto n = proto::parse_count(spec)) {
        if (*n > kMaxId) return std::nullopt;
        return static_cast<gid_t>(*n);
    }
    group gr{}, *found = nullptr;
    std::vector<char> buf(16384);
    if (::getgrnam_r(spec.c_str(), &gr, buf.data(), buf.size(), &found) != 0 || !found) return std::nullopt;
    return gr.gr_gid;
}

StartIds current_ids() { return {::geteuid(), ::getegid()}; }

std::optional<RunAs> resolve_run_as(const RunAsSettings& s, const std::string& file, StartIds ids,
                                    std::string& error) {
    auto at = [&](int line, const char* key, const std::string& why) {
        error = fmt::format("{}:{}: {}: {}", file, line > 0 ? line : 1, key, why);
        return std::nullopt;
    };
    if (s.user.empty()) {
        if (ids.euid == 0)
            return at(0, "user",
                      "not set, and asmtpd was started as root: name the account to run as once the ports are "
                      "bound (user: asmtpd, or user: nobody), or write user: root to keep running as root");
        if (!s.group.empty() && s.group_line > 0) return at(s.group_line, "group", "needs user: to be set");
        return RunAs{};   // an unprivileged start without user: runs as whoever started it
    }
    auto account = lookup_user(s.user);
    if (!account) return at(s.user_line, "user", fmt::format("no such user '{}'", s.user));
    gid_t gid = account->gid;
    if (!s.group.empty()) {
        auto g = lookup_group(s.group);
        if (!g) return at(s.group_line, "group", fmt::format("no such group '{}'", s.group));
        gid = *g;
    }
    RunAs r;
    r.name = account->name.empty() ? std::to_string(account->uid) : account->name;
    r.uid = account->uid;
    r.gid = gid;
    if (account->uid == 0) {
        if (!s.group.empty())
            return at(s.group_line, "group", "applies only with a user: other than root (root keeps its groups)");
        if (ids.euid != 0) return at(s.user_line, "user", fmt::format("'{}' is root, and asmtpd runs as uid {}", s.user, ids.euid));
        return r;   // root, asked for in so many words
    }
    if (ids.euid != 0) {
        if (account->uid != ids.euid)
            return at(s.user_line, "user",
                      fmt::format("asmtpd runs as uid {}, so it cannot switch to '{}' (uid {}); start it as root, "
                                  "or set user: to its own account",
                                  ids.euid, s.user, account->uid));
        if (gid != ids.egid)
            return at(s.group_line > 0 ? s.group_line : s.user_line, s.group_line > 0 ? "group" : "user",
                      fmt::format("asmtpd runs with gid {}, so it cannot switch to gid {}; start it as root", ids.egid, gid));
        return r;   // ourselves: nothing changes
    }
    r.drop = true;
    r.groups = groups_of(*account, gid);
    return r;
}

bool drop_privileges(const RunAs& run_as, std::string& error) {
    if (!run_as.drop) return true;
    auto fail = [&](const char* step) {
        error = fmt::format("cannot drop to user {} (uid {} gid {}): {}: {}", run_as.name, run_as.uid, run_as.gid,
                            step, errno_text());
        return false;
    };
    if (::setgroups(run_as.groups.size(), run_as.groups.data()) != 0) return fail("setgroups");
    if (::setresgid(run_as.gid, run_as.gid, run_as.gid) != 0) return fail("setresgid");
    if (::setresuid(run_as.uid, run_as.uid, run_as.uid) != 0) return fail("setresuid");

    // Read everything back: a drop that half happened must not look like one that did.
    uid_t ru, eu, su;
    gid_t rg, eg, sg;
    if (::getresuid(&ru, &eu, &su) != 0 || ::getresgid(&rg, &eg, &sg) != 0) return fail("getresuid");
    std::vector<gid_t> now(static_cast<std::size_t>(std::max(::getgroups(0, nullptr), 0)));
    if (!now.empty() && ::getgroups(static_cast<int>(now.size()), now.data()) < 0) return fail("getgroups");
    std::vector<gid_t> want = run_as.groups;
    std::sort(now.begin(), now.end());
    std::sort(want.begin(), want.end());
    if (ru != run_as.uid || eu != run_as.uid || su != run_as.uid || rg != run_as.gid || eg != run_as.gid ||
        sg != run_as.gid || now != want) {
        error = fmt::format("dropping to user {} left uids {}/{}/{} gids {}/{}/{} and {} groups; refusing to run",
                            run_as.name, ru, eu, su, rg, eg, sg, now.size());
        return false;
    }
    if (run_as.uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0)) {
        error = fmt::format("after dropping to user {}, setuid(0) still succeeds; refusing to run", run_as.name);
        return false;
    }
    return true;
}

bool prepare_private_dir(const std::string& path, const RunAs& run_as, std::string& error) {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::is_directory(path, ec)) return true;
    fs::create_directories(path, ec);
    if (ec) {
        error = fmt::format("cannot create {}: {}", path, ec.message());
        return false;
    }
    if (::chmod(path.c_str(), 0700) != 0 || (run_as.drop && ::chown(path.c_str(), run_as.uid, run_as.gid) != 0)) {
        error = fmt::format("cannot give {} to {}: {}", path, run_as.drop ? run_as.name : "asmtpd", errno_text());
        return false;
    }
    return true;
}

}  // namespace asmtpd::smtp
