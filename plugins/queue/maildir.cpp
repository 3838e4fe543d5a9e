// NAME
//   queue/maildir - deliver accepted mail into a Maildir (https://cr.yp.to/proto/maildir.html).
// SYNOPSIS
//   queue/maildir [DIR]    DIR relative to the config directory, default ../var/mail; created with tmp/ new/ cur/ (new ones 0700) at
//                          start-up (--check only checks that they could be). qpsmtpd's per-recipient subdirectory argument is not
//                          supported: a second argument fails start-up rather than being ignored.
// CONFIG
//   none (the file names use asmtpd.yaml's hostname)
// HOOKS
//   queue: on a worker thread (never the loop): tmp/<unique> is created O_EXCL mode 0600, the
//   envelope as qmail-local records it (Return-Path: <sender>, then Delivered-To: for each
//   recipient), the header prefix (Received + plugin headers + the edited header block, if
//   any) and the body
//   from the transaction's body_offset are written, the file is fsynced and
//   closed, renamed into new/<unique> (never over an existing file: EEXIST is a queue failure),
//   and new/ is fsynced. Then OK "Queued as <unique>" (250).
//   Any failure removes what was written and gives DENYSOFT "Queue write failed" (452): the
//   client retries, and no half-written message is ever visible in new/.
//   <unique> = <seconds>.M<usec>P<pid>Q<n>.<hostname with '/' as \057 and ':' as \072>, pid of
//   the worker process that delivers (plugins are loaded before the workers fork).
// Rules: the worker owns shared copies of everything it reads (body spool, strings), because
// the session may be gone when it finishes; the HookCall is resolved only on the loop thread.
#include <fcntl.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include "core/io/dir_check.hpp"
#include "core/io/reactor.hpp"
#include "core/io/rename_no_replace.hpp"
#include "hooks/plugin.hpp"

namespace asmtpd::plugins {

namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr const char* kDefaultDir = "../var/mail";   // the var/ beside the config directory

std::string sys_error(std::string_view what, const std::string& path) {
    int e = errno;
    return std::string(what) + " " + path + ": " + std::error_code(e, std::generic_category()).message();
}

bool write_all(int fd, const char* p, std::size_t n) {
    while (n > 0) {
        ssize_t w = ::write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return false;
        }
        p += w;
        n -= static_cast<std::size_t>(w);
    }
    return true;
}

// What one delivery needs; shared between the worker and the loop-thread completion.
struct Job {
    std::string dir;
    std::string name;
    std::string prefix;
    std::shared_ptr<const io::Spool> body;
    std::uint64_t body_offset = 0;   // the spool before it is the original header block, edited into prefix
    std::string error;   // empty = delivered
};

// Writes prefix + body to fd; returns an error message or "".
std::string write_message(int fd, const Job& j, const std::string& path) {
    if (!write_all(fd, j.prefix.data(), j.prefix.size())) return sys_error("write", path);
    const io::Spool& body = *j.body;
    if (!body.in_file()) {
        std::string_view m = std::string_view(body.memory()).substr(std::min<std::uint64_t>(j.body_offset, body.size()));
        if (!write_all(fd, m.data(), m.size())) return sys_error("write", path);
        return {};
    }
    std::vector<char> buf(kChunk);
    std::uint64_t off = j.body_offset, size = body.size();
    while (off < size) {
        long got = body.read_at(off, buf.data(), buf.size());
        if (got <= 0) return "read spool at offset " + std::to_string(off) + " failed";
        if (!write_all(fd, buf.data(), static_cast<std::size_t>(got))) return sys_error("write", path);
        off += static_cast<std::uint64_t>(got);
    }
    return {};
}

// The whole delivery, run on a worker thread. Returns an error message or "".
std::string deliver(const Job& j) {
    const std::string tmp = j.dir + "/tmp/" + j.name;
    const std::string dest = j.dir + "/new/" + j.name;
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) return sys_error("create", tmp);
    std::string err = write_message(fd, j, tmp);
    if (err.empty() && ::fsync(fd) != 0) err = sys_error("fsync", tmp);
    if (::close(fd) != 0 && err.empty()) err = sys_error("close", tmp);
    if (err.empty()) {
        if (int e = io::rename_no_replace(tmp.c_str(), dest.c_str()); e != 0) {
            errno = e;
            err = sys_error("rename to", dest);
        }
    }
    if (!err.empty()) {
        ::unlink(tmp.c_str());
        return err;
    }
    // The rename is durable only once the directory is; if that fails the client will retry,
    // so take the message back out rather than risk delivering it twice.
    const std::string newdir = j.dir + "/new";
    int dfd = ::open(newdir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) err = sys_error("open", newdir);
    else if (::fsync(dfd) != 0) err = sys_error("fsync", newdir);
    if (dfd >= 0) ::close(dfd);
    if (!err.empty()) ::unlink(dest.c_str());
    return err;
}

std::string escape_host(std::string_view host) {
    std::string out;
    for (char c : host) {
        if (c == '/') out += "\\057";
        else if (c == ':') out += "\\072";
        else out += c;
    }
    return out.empty() ? "localhost" : out;
}

// The envelope as qmail's maildir delivery (qmail-local) records it: Return-Path with the
// sender, then Delivered-To for each recipient of this one file, in order. Never from the
// client: both are built from the envelope, and the values cannot hold CR or LF.
std::string envelope_fields(const hooks::Transaction& t) {
    std::string out = "Return-Path: " + (t.sender ? t.sender->format() : std::string("<>")) + "\r\n";
    for (const auto& r : t.recipients) out += "Delivered-To: " + r.bare() + "\r\n";
    return out;
}

class Maildir final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        const auto& args = in.line.args;
        if (args.size() > 1) return "takes one argument, the directory (per-recipient subdirectories are not supported)";
        if (!args.empty() && args[0].empty()) return "empty directory";
        // Relative to the config directory (the shipped config/'s ../var/mail is the checkout's).
        dir_ = in.server.path(args.empty() ? std::string(kDefaultDir) : args[0]);
        while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
        for (const char* sub : {"tmp", "new", "cur"}) {
            std::filesystem::path p = std::filesystem::path(dir_) / sub;
            if (in.server.check_only) {
                if (auto why = io::creatable_directory(p.string()); !why.empty()) return why;
                continue;
            }
            std::error_code ec;
            bool made = std::filesystem::create_directories(p, ec);
            if (ec || !std::filesystem::is_directory(p, ec))
                return "cannot create " + p.string() + (ec ? ": " + ec.message() : "");
            // Mail is private; an existing directory keeps the modes its owner chose.
            if (made) std::filesystem::permissions(p, std::filesystem::perms::owner_all, ec);
        }
        host_ = escape_host(in.server.hostname);
        return std::nullopt;
    }

    void register_hooks(hooks::Registrar& r) override { r.on<hooks::Hook::Queue>(&Maildir::on_queue); }
    std::vector<std::string> storage_paths() const override { return {dir_}; }

private:
    std::string unique_name() {
        timeval tv{};
        ::gettimeofday(&tv, nullptr);
        return std::to_string(tv.tv_sec) + ".M" + std::to_string(tv.tv_usec) + "P" + std::to_string(static_cast<long>(::getpid())) + "Q" +
               std::to_string(counter_.fetch_add(1) + 1) + "." + host_;
    }

    void on_queue(hooks::Context& ctx, const hooks::NoArgs&, hooks::HookCall call) {
        const hooks::Transaction* txn = ctx.transaction();
        if (!txn || !txn->body || txn->body->failed()) {
            ctx.log().error("queue/maildir: no message body to deliver");
            return call.deny_soft("Queue write failed");
        }
        auto job = std::make_shared<Job>();
        job->dir = dir_;
        job->name = unique_name();
        job->prefix = envelope_fields(*txn) + txn->header_prefix();
        job->body = txn->body;
        job->body_offset = txn->body_offset;
        io::Log log = ctx.log();
        ctx.reactor().run_in_pool(
            [job] { job->error = deliver(*job); },
            [job, call, log] {
                if (!job->error.empty()) {
                    log.error("queue/maildir: {}", job->error);
                    return call.deny_soft("Queue write failed");
                }
                log.info("queue/maildir: delivered {}", job->name);
                call.ok("Queued as " + job->name);
            });
    }

    std::string dir_;
    std::string host_;
    std::atomic<std::uint64_t> counter_{0};
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_queue_maildir() { return std::make_unique<Maildir>(); }

}  // namespace asmtpd::plugins
