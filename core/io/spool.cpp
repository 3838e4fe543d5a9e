// spool.cpp - message body storage: a string until the threshold, then an unlinked temp file
// written with uv_fs_write, one write in flight.
//
// Must never: block the loop (every file call is a uv_fs_* request, except ::close and read_at),
// touch in_flight_ while its write is in flight, or leave a session waiting forever: failure
// settles everything. Ownership: each uv_fs request is a heap struct holding a shared_ptr to the
// Spool; it is cleaned up and freed in its callback, which may drop the last reference.
// Sequence to file mode: mkstemp -> unlink -> (fd_ set) -> writes. opening_ covers the first two.
#include "core/io/spool.hpp"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

namespace asmtpd::io {

namespace {

// uv_buf_t lengths are unsigned int; larger buffers go out in several writes.
constexpr std::size_t kMaxIo = std::size_t{1} << 30;
// A written buffer keeps its capacity for the next write up to this size; past it (the burst
// that crossed the memory threshold, a slow disk) it is freed, so a spool that is being read
// back or forwarded holds no write buffers at all (measured: ~610 KiB per 1 MB message before).
constexpr std::size_t kRetainCapacity = 128 * 1024;

void release(std::string& s) { std::string().swap(s); }

struct FsReq {
    uv_fs_t req;
    std::shared_ptr<Spool> keep;
    int fd = -1;   // the new file while its unlink is in progress
};

struct ReadReq {
    uv_fs_t req;
    std::shared_ptr<Spool> keep;
    std::string buf;
    std::function<void(bool, std::string)> cb;
};

}  // namespace

std::shared_ptr<Spool> Spool::create(uv_loop_t* loop, std::string dir, std::size_t memory_threshold) {
    // The constructor is private; this local subclass lets make_shared reach it.
    struct Enabler : Spool {
        Enabler(uv_loop_t* l, std::string d, std::size_t t) : Spool(l, std::move(d), t) {}
    };
    return std::make_shared<Enabler>(loop, std::move(dir), memory_threshold);
}

Spool::Spool(uv_loop_t* loop, std::string dir, std::size_t threshold)
    : loop_(loop), dir_(std::move(dir)), threshold_(threshold) {}

Spool::~Spool() {
    if (fd_ >= 0) ::close(fd_);
}

void Spool::append(std::string_view bytes) {
    if (bytes.empty()) return;
    size_ += bytes.size();
    if (failed_) return;   // size_ still counts, so the session can report the real size
    buffer_.append(bytes);
    if (fd_ >= 0) {
        pump();
    } else if (!opening_ && buffer_.size() > threshold_) {
        open_file();
    }
}

void Spool::open_file() {
    opening_ = true;
    auto* r = new FsReq{{}, shared_from_this()};
    r->req.data = r;
    const std::string tmpl = dir_ + "/asmtpd-spool-XXXXXX";

    static constexpr uv_fs_cb on_unlinked = [](uv_fs_t* req) {
        auto* u = static_cast<FsReq*>(req->data);
        Spool* s = u->keep.get();
        const auto result = req->result;
        uv_fs_req_cleanup(req);
        s->opening_ = false;
        if (result < 0) {
            // The file would outlive us with message content in it: refuse to use it.
            ::close(u->fd);
            s->fail();
        } else {
            s->fd_ = u->fd;
            s->pump();
        }
        delete u;   // may drop the last reference to s
    };

    auto on_created = [](uv_fs_t* req) {
        auto* c = static_cast<FsReq*>(req->data);
        Spool* s = c->keep.get();
        if (req->result < 0) {
            uv_fs_req_cleanup(req);
            s->opening_ = false;
            s->fail();
            delete c;
            return;
        }
        auto* u = new FsReq{{}, c->keep, static_cast<int>(req->result)};
        u->req.data = u;
        const std::string path = req->path;   // mkstemp filled in the XXXXXX
        uv_fs_req_cleanup(req);
        delete c;
        if (uv_fs_unlink(s->loop_, &u->req, path.c_str(), on_unlinked) != 0) {
            uv_fs_req_cleanup(&u->req);
            ::unlink(path.c_str());   // a submission failure (ENOMEM): best effort, then give up
            ::close(u->fd);
            s->opening_ = false;
            auto keep = std::move(u->keep);
            delete u;
            s->fail();
        }
    };

    if (uv_fs_mkstemp(loop_, &r->req, tmpl.c_str(), on_created) != 0) {
        uv_fs_req_cleanup(&r->req);
        delete r;
        opening_ = false;
        fail();
    }
}

void Spool::pump() {
    if (fd_ < 0 || failed_ || !in_flight_.empty()) return;
    if (buffer_.empty()) {
        // Everything is on disk: nothing in memory is needed until the next append.
        release(buffer_);
        release(in_flight_);
        settle();
        return;
    }
    // Swap rather than copy: appends keep going into buffer_ (reusing the old in_flight_'s
    // capacity) while the kernel reads from in_flight_.
    std::swap(buffer_, in_flight_);
    issue_write();
}

void Spool::issue_write() {
    auto on_written = [](uv_fs_t* req) {
        auto* r = static_cast<FsReq*>(req->data);
        Spool* s = r->keep.get();
        const auto result = req->result;
        uv_fs_req_cleanup(req);
        if (result <= 0) {
            // result 0 would be no progress at all; treat it like ENOSPC rather than spin.
            s->in_flight_.clear();
            s->fail();
        } else {
            const auto n = static_cast<std::size_t>(result);
            s->file_off_ += n;
            s->in_flight_.erase(0, n);
            if (!s->in_flight_.empty()) {
                s->issue_write();   // short write, or a > kMaxIo chunk
            } else {
                if (s->in_flight_.capacity() > kRetainCapacity) release(s->in_flight_);
                s->pump();
            }
        }
        delete r;   // may drop the last reference to s
    };

    auto* r = new FsReq{{}, shared_from_this()};
    r->req.data = r;
    uv_buf_t buf = uv_buf_init(in_flight_.data(), static_cast<unsigned>(std::min(in_flight_.size(), kMaxIo)));
    if (uv_fs_write(loop_, &r->req, fd_, &buf, 1, static_cast<std::int64_t>(file_off_), on_written) != 0) {
        uv_fs_req_cleanup(&r->req);
        delete r;
        in_flight_.clear();
        fail();
    }
}

void Spool::fail() {
    failed_ = true;
    // Nothing is in flight when we get here (only callbacks and submission failures call us).
    release(buffer_);
    release(in_flight_);
    settle();
}

void Spool::settle() {
    if (opening_ || unwritten() != 0) return;
    if (drained_) {
        auto fn = drained_;   // a copy: the callback may replace drained_ while it runs
        fn();
    }
    // drained_ may have appended more: finish only when still nothing is pending.
    if (finish_cb_ && !opening_ && unwritten() == 0) {
        auto fn = std::move(finish_cb_);
        finish_cb_ = nullptr;
        fn(!failed_);
    }
}

void Spool::finish(std::function<void(bool ok)> done) {
    if (fd_ < 0 && !opening_) {
        done(!failed_);   // in memory (or failed before a file existed): nothing to wait for
        return;
    }
    finish_cb_ = std::move(done);
    settle();
}

long Spool::read_at(std::uint64_t off, char* buf, std::size_t n) const {
    if (failed_) return -1;
    if (fd_ < 0) {
        if (off >= buffer_.size()) return 0;
        const std::size_t count = std::min<std::size_t>(n, buffer_.size() - off);
        std::memcpy(buf, buffer_.data() + off, count);
        return static_cast<long>(count);
    }
    ssize_t r;
    do {
        r = ::pread(fd_, buf, n, static_cast<off_t>(off));
    } while (r < 0 && errno == EINTR);
    return static_cast<long>(r);
}

void Spool::read_async(std::uint64_t off, std::size_t n, std::function<void(bool ok, std::string data)> cb) {
    if (failed_) {
        cb(false, {});
        return;
    }
    if (fd_ < 0) {
        // In memory: answered synchronously (documented in the header).
        cb(true, off < buffer_.size() ? buffer_.substr(off, n) : std::string());
        return;
    }
    n = std::min(n, kMaxIo);
    auto* r = new ReadReq{{}, shared_from_this(), std::string(n, '\0'), std::move(cb)};
    r->req.data = r;
    auto on_read = [](uv_fs_t* req) {
        auto* rr = static_cast<ReadReq*>(req->data);
        const auto result = req->result;
        uv_fs_req_cleanup(req);
        auto fn = std::move(rr->cb);
        std::string data = std::move(rr->buf);
        auto keep = std::move(rr->keep);   // the spool outlives fn's call even if fn lets go
        delete rr;
        if (result < 0) {
            fn(false, {});
            return;
        }
        data.resize(static_cast<std::size_t>(result));
        fn(true, std::move(data));
    };
    uv_buf_t buf = uv_buf_init(r->buf.data(), static_cast<unsigned>(n));
    if (uv_fs_read(loop_, &r->req, fd_, &buf, 1, static_cast<std::int64_t>(off), on_read) != 0) {
        uv_fs_req_cleanup(&r->req);
        auto fn = std::move(r->cb);
        delete r;
        fn(false, {});
    }
}

}  // namespace asmtpd::io
