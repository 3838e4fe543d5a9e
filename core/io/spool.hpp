// spool.hpp - the body of one message: memory first, an unlinked temp file past a threshold.
//
// Appends never block the loop: once the file exists, data goes out through uv_fs_write with
// one write in flight, and pending() tells the session how much is still in memory so it can
// stop reading from the client (back-pressure keeps memory flat for a 100 MB message).
// The temp file is unlinked as soon as it is created, so a crash leaves nothing behind.
// Readers: read_at() is a blocking pread for worker threads (uv_queue_work) only; on the loop
// use read_async(). Shared ownership keeps the spool alive for a backend that outlives the
// session. Rules: a Spool is created, appended to and finished on the loop thread.
// Callbacks: finish() and read_async() answer synchronously when the spool is in memory (or
// already settled); otherwise from a libuv callback. Any I/O error (spool dir missing, ENOSPC)
// drops the buffered bytes, sets failed() and fires on_drained and finish(false), so a session
// waiting on back-pressure never hangs. Every uv_fs request holds a shared_ptr to the Spool, so
// the last owner may let go at any time. The destructor closes the fd with plain ::close (cheap
// and thread-safe: the last reference may be dropped on a pool thread).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include <uv.h>

namespace asmtpd::io {

class Spool : public std::enable_shared_from_this<Spool> {
public:
    // memory_threshold: bytes kept in memory before switching to a file in dir.
    static std::shared_ptr<Spool> create(uv_loop_t* loop, std::string dir, std::size_t memory_threshold);
    ~Spool();

    void append(std::string_view bytes);
    // Bytes accepted by append() and bound for the file but not yet written to it. 0 while the
    // spool is in memory: that content is bounded by the threshold and is never "drained", so a
    // session comparing pending() with a high-water mark cannot wait forever on a memory spool.
    std::size_t pending() const { return (fd_ < 0 && !opening_) ? 0 : unwritten(); }
    // Heap bytes reserved for message content right now (for tests and memory accounting).
    std::size_t memory_held() const { return buffer_.capacity() + in_flight_.capacity(); }
    // Called every time pending() drops to zero after a write (once per drop), and on failure.
    // Stays registered; the callback may replace it or append more.
    void on_drained(std::function<void()> fn) { drained_ = std::move(fn); }
    // All appended bytes are in memory or written to the file; ok=false after any I/O error.
    void finish(std::function<void(bool ok)> done);

    std::uint64_t size() const { return size_; }
    bool failed() const { return failed_; }
    bool in_file() const { return fd_ >= 0; }
    // Only meaningful when !in_file(): the whole content.
    const std::string& memory() const { return buffer_; }
    // The unlinked temp file's descriptor, -1 while in memory (tests, and sendfile-style readers).
    int fd() const { return fd_; }

    // Worker threads only, after finish(): copies up to n bytes at off; returns bytes read or -1.
    long read_at(std::uint64_t off, char* buf, std::size_t n) const;
    // Loop thread: reads up to n bytes at off; cb(data) with data empty at the end, or on error
    // (then ok=false).
    void read_async(std::uint64_t off, std::size_t n, std::function<void(bool ok, std::string data)> cb);

private:
    Spool(uv_loop_t* loop, std::string dir, std::size_t threshold);
    void open_file();
    void pump();
    void issue_write();   // writes in_flight_ at file_off_
    void fail();          // drops buffered bytes, then settle()
    void settle();        // fires on_drained / finish once nothing is pending
    std::size_t unwritten() const { return buffer_.size() + in_flight_.size(); }

    uv_loop_t* loop_;
    std::string dir_;
    std::size_t threshold_;
    std::string buffer_;      // in memory: everything; in file mode: not yet handed to a write
    std::string in_flight_;   // bytes of the write in progress
    std::uint64_t size_ = 0;
    std::uint64_t file_off_ = 0;
    int fd_ = -1;
    bool opening_ = false;    // mkstemp + unlink in progress
    bool failed_ = false;
    std::function<void()> drained_;
    std::function<void(bool)> finish_cb_;
};

}  // namespace asmtpd::io
