// stream.cpp - TcpStream: a libuv TCP connection behind the Transport interface.
//
// Must never: call the listener after close_now()/close_after_flush()/destruction, call it from
// inside write(), free a write request's bytes before its callback, or free the Block while
// libuv or the TcpStream still refers to it.
// Closing after a flush is a lingering close: once the queue is written, shutdown(SHUT_WR) sends
// FIN and the input is read and discarded until the peer's EOF (or a short linger), because
// closing a socket with unread input makes the kernel send RST, which can destroy the reply the
// peer has not read yet (a "221" after pipelined commands, a "421" to an early talker).
// Ownership: the Block holds both handles (socket, and a timer for the flush deadline and for
// deferred error reports). It is freed by whoever lets go last: the second close callback when
// the TcpStream is already gone, or the TcpStream's destructor when both handles already closed.
// Each WriteReq owns its bytes and is freed in its write callback (libuv calls it, with
// UV_ECANCELED, for every pending write before the close callback).
#include "core/io/stream.hpp"

#include <unistd.h>

#include <climits>
#include <unordered_set>
#include <utility>
#include <vector>

#include "core/io/sock_name.hpp"

namespace asmtpd::io {

namespace {

// libuv asks for 64 KiB per read. One buffer per thread (= per loop) serves every stream:
// on_read() hands the bytes to the listener, which copies what it keeps, before returning, so
// no two reads ever hold it at once. A buffer per stream would cost 640 MB at 10 000 idle
// connections.
constexpr std::size_t kReadBuffer = 64 * 1024;

char* loop_read_buffer() {
    thread_local std::unique_ptr<char[]> buf = std::make_unique<char[]>(kReadBuffer);
    return buf.get();
}
constexpr std::uint64_t kDefaultFlushTimeoutMs = 30000;
// After our FIN, how long to wait for the peer's before closing anyway.
constexpr std::uint64_t kLingerMs = 2000;

}  // namespace

struct TcpStream::Block {
    uv_tcp_t tcp;
    uv_timer_t timer;              // flush/linger deadline; zero-delay on_eof after a failed write
    uv_shutdown_t shutdown_req;    // at most one, issued when a flush completes
    int open_handles = 2;          // tcp + timer; both close callbacks must run before free
    bool owner = true;             // a TcpStream still points here
    StreamListener* listener = nullptr;
    std::size_t queued = 0;        // bytes in write requests not yet completed
    std::uint64_t flush_timeout_ms = kDefaultFlushTimeoutMs;
    SockName peer, local;
    bool paused = false;           // the owner asked us not to read
    bool reading = false;          // uv_read_start is in effect
    bool read_done = false;        // EOF or read error seen: never read again
    bool broken = false;           // a write failed: later writes are dropped
    bool eof_sent = false;         // on_eof is delivered at most once
    bool flushing = false;         // close_after_flush() called
    bool shut_down = false;        // our FIN went out; waiting for the peer's
    bool closing = false;          // uv_close() called

    uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp); }
    bool deliverable() const { return listener && !flushing && !closing; }
};

namespace {

using Block = TcpStream::Block;

// Streams flushing towards a lingering close, for cut_lingering_closes(). Per thread because each loop runs
// on its own thread (a worker is a process with one loop); the blocks are that loop's.
std::unordered_set<Block*>& lingering() {
    thread_local std::unordered_set<Block*> set;
    return set;
}

struct WriteReq {
    uv_write_t req;
    std::string bytes;   // owned until on_write
    Block* block;
};

void on_handle_closed(uv_handle_t* h) {
    auto* b = static_cast<Block*>(h->data);
    if (--b->open_handles == 0 && !b->owner) delete b;
}

void hard_close(Block* b) {
    if (b->closing) return;
    lingering().erase(b);
    b->closing = true;
    b->reading = false;
    uv_timer_stop(&b->timer);
    uv_close(reinterpret_cast<uv_handle_t*>(&b->tcp), on_handle_closed);
    uv_close(reinterpret_cast<uv_handle_t*>(&b->timer), on_handle_closed);
}

void report_eof(Block* b) {
    if (b->eof_sent || !b->deliverable()) return;
    b->eof_sent = true;
    b->listener->on_eof();   // may destroy the TcpStream: touch nothing after this
}

void on_timer(uv_timer_t* t) {
    auto* b = static_cast<Block*>(t->data);
    if (b->closing) return;
    if (b->flushing) {
        hard_close(b);   // the flush deadline passed
        return;
    }
    report_eof(b);       // deferred report of a failed write
}

void fail_writes(Block* b) {
    b->broken = true;
    if (!b->flushing && !b->closing) uv_timer_start(&b->timer, on_timer, 0, 0);
}

void on_alloc(uv_handle_t* h, std::size_t, uv_buf_t* buf) {
    (void)h;
    *buf = uv_buf_init(loop_read_buffer(), kReadBuffer);
}

void stop_reading(Block* b) {
    if (!b->reading) return;
    b->reading = false;
    uv_read_stop(b->stream());
}

void on_read(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
    auto* b = static_cast<Block*>(s->data);
    if (n > 0) {
        if (b->deliverable()) b->listener->on_read(std::string_view(buf->base, static_cast<std::size_t>(n)));
        return;
    }
    if (n == 0) return;   // EAGAIN: nothing this time
    b->read_done = true;
    stop_reading(b);
    if (n != UV_EOF) b->broken = true;   // reset or similar: writes cannot succeed either
    if (b->shut_down) {
        hard_close(b);   // lingering close complete: both sides said goodbye
        return;
    }
    report_eof(b);
}

// While flushing we read regardless of pause or listener, discarding input (see the header).
void start_reading(Block* b) {
    if (b->reading || b->read_done || b->closing) return;
    if (!b->flushing && (b->paused || !b->listener)) return;
    if (uv_read_start(b->stream(), on_alloc, on_read) == 0) {
        b->reading = true;
    } else {
        // Not readable any more (an earlier error): tell the owner, but not from inside its call.
        b->read_done = true;
        fail_writes(b);
    }
}

void on_shutdown(uv_shutdown_t* req, int status) {
    auto* b = static_cast<Block*>(req->data);
    if (b->closing) return;   // UV_ECANCELED from hard_close
    if (status < 0 || b->read_done) {
        hard_close(b);
        return;
    }
    b->shut_down = true;
    uv_timer_start(&b->timer, on_timer, kLingerMs, 0);
}

// The flush is complete (or failed): FIN, then wait for the peer's EOF.
void finish_flush(Block* b) {
    if (b->broken || uv_shutdown(&b->shutdown_req, b->stream(), on_shutdown) != 0) hard_close(b);
}

void on_write(uv_write_t* req, int status) {
    auto* w = static_cast<WriteReq*>(req->data);
    Block* b = w->block;
    b->queued -= w->bytes.size();
    delete w;
    if (b->closing) return;
    if (status < 0) b->broken = true;
    if (b->flushing) {
        if (b->queued == 0) finish_flush(b);
        return;
    }
    if (status < 0) {
        report_eof(b);
        return;
    }
    if (b->queued == 0 && !b->broken && b->deliverable()) b->listener->on_drained();
}

}  // namespace

std::unique_ptr<TcpStream> TcpStream::adopt(uv_loop_t* loop, int fd) {
    auto* b = new Block;
    uv_tcp_init(loop, &b->tcp);
    uv_timer_init(loop, &b->timer);
    b->tcp.data = b;
    b->timer.data = b;
    b->shutdown_req.data = b;
    if (uv_tcp_open(&b->tcp, fd) != 0) {
        ::close(fd);   // not libuv's yet: uv_close below will not close it
        b->owner = false;
        hard_close(b);
        return nullptr;
    }
    uv_tcp_nodelay(&b->tcp, 1);   // fails harmlessly on a Unix-domain socket
    b->peer = peer_name(&b->tcp);
    b->local = local_name(&b->tcp);
    return std::unique_ptr<TcpStream>(new TcpStream(b));
}

TcpStream::~TcpStream() {
    Block* b = block_;
    b->owner = false;
    b->listener = nullptr;
    if (b->open_handles == 0) {
        delete b;   // the handles closed earlier: nobody else refers to the block
        return;
    }
    if (b->flushing && !b->closing) return;   // the flush goes on; its last callback closes
    hard_close(b);
}

void TcpStream::set_listener(StreamListener* l) {
    block_->listener = l;
    if (block_->flushing) return;   // reading (to discard) goes on regardless
    if (l) start_reading(block_);
    else stop_reading(block_);
}

void TcpStream::write(std::string bytes) {
    Block* b = block_;
    if (bytes.empty() || b->closing || b->flushing || b->broken) return;
    if (b->queued == 0 && bytes.size() <= INT_MAX) {
        // Node's DoTryWrite: most replies fit in the socket buffer, so no request is needed.
        uv_buf_t buf = uv_buf_init(bytes.data(), static_cast<unsigned>(bytes.size()));
        int n = uv_try_write(b->stream(), &buf, 1);
        if (n >= 0 && static_cast<std::size_t>(n) == bytes.size()) return;
        if (n < 0 && n != UV_EAGAIN) {
            fail_writes(b);
            return;
        }
        if (n > 0) bytes.erase(0, static_cast<std::size_t>(n));
    }
    auto* w = new WriteReq{{}, std::move(bytes), b};
    w->req.data = w;
    uv_buf_t buf = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
    if (uv_write(&w->req, b->stream(), &buf, 1, on_write) != 0) {
        delete w;
        fail_writes(b);
        return;
    }
    b->queued += w->bytes.size();
}

std::size_t TcpStream::queued_bytes() const { return block_->queued; }

void TcpStream::pause_reading() {
    block_->paused = true;
    if (!block_->flushing) stop_reading(block_);
}

void TcpStream::resume_reading() {
    block_->paused = false;
    start_reading(block_);
}

void TcpStream::close_after_flush() {
    Block* b = block_;
    if (b->closing || b->flushing) return;
    b->flushing = true;
    lingering().insert(b);
    start_reading(b);   // discard input from now on, so closing does not turn into RST
    uv_timer_start(&b->timer, on_timer, b->flush_timeout_ms, 0);
    if (b->queued == 0) finish_flush(b);
}

void TcpStream::close_now() { hard_close(block_); }

bool TcpStream::closed() const { return block_->closing || block_->flushing; }

void TcpStream::set_flush_timeout(std::uint64_t ms) { block_->flush_timeout_ms = ms; }

std::string TcpStream::peer_ip() const { return block_->peer.ip; }
std::uint16_t TcpStream::peer_port() const { return block_->peer.port; }
std::string TcpStream::local_ip() const { return block_->local.ip; }
std::uint16_t TcpStream::local_port() const { return block_->local.port; }

std::size_t TcpStream::cut_lingering_closes() {
    std::vector<Block*> cut;
    for (Block* b : lingering())
        if (b->queued == 0) cut.push_back(b);   // all of it is in the kernel: nothing to lose
    for (Block* b : cut) hard_close(b);
    return cut.size();
}

}  // namespace asmtpd::io
