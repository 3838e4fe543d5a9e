// stream.hpp - a byte stream to one client: the Transport a session talks to, and its TCP
// implementation on libuv.
//
// Rules: the session never sees libuv. TcpStream embeds its uv_tcp_t in a heap block that is
// released only in the close callback; destroying the TcpStream closes the socket, and no event
// reaches the listener after close() or destruction. Writes are queued in order; each write
// request owns its bytes until its callback.
// TcpStream details: reading starts at set_listener() (unless paused). A write error or a read
// error/EOF is reported once through on_eof (never synchronously from write()). After
// close_after_flush() writes are dropped and no listener callback fires; the flush continues even
// if the TcpStream is destroyed, bounded by set_flush_timeout(), and ends in a lingering close
// (FIN, input discarded until the peer's EOF or 2 s) so unread input cannot turn our last reply
// into a RST. Destroying a TcpStream that was
// not asked to flush drops its queue at once (close_now). The process must ignore SIGPIPE
// (io::ignore_sigpipe()): libuv writes with write(2).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <uv.h>

namespace asmtpd::io {

class StreamListener {
public:
    virtual ~StreamListener() = default;
    virtual void on_read(std::string_view bytes) = 0;
    virtual void on_eof() = 0;        // the peer closed, or a read/write error happened
    virtual void on_drained() {}      // every queued write reached the kernel
};

class Transport {
public:
    virtual ~Transport() = default;
    virtual void set_listener(StreamListener* l) = 0;
    virtual void write(std::string bytes) = 0;
    virtual std::size_t queued_bytes() const = 0;
    virtual void pause_reading() = 0;
    virtual void resume_reading() = 0;
    // Flush queued writes, then close. Idempotent.
    virtual void close_after_flush() = 0;
    // Close now, dropping queued output. Idempotent.
    virtual void close_now() = 0;
    virtual bool closed() const = 0;
};

class TcpStream final : public Transport {
public:
    // Wraps a connected stream socket (TCP, or Unix-domain: libuv's stream code does not care)
    // that the caller made (io::Listener, io::connect_tcp()). The stream owns fd from then on; on
    // failure (null) fd has been closed. Addresses are empty for a Unix-domain socket.
    static std::unique_ptr<TcpStream> adopt(uv_loop_t* loop, int fd);
    ~TcpStream() override;

    void set_listener(StreamListener* l) override;
    void write(std::string bytes) override;
    std::size_t queued_bytes() const override;
    void pause_reading() override;
    void resume_reading() override;
    void close_after_flush() override;
    void close_now() override;
    bool closed() const override;

    // Upper bound for close_after_flush() (default 30 s): then the socket is closed anyway, so a
    // peer that never reads cannot hold a descriptor forever.
    void set_flush_timeout(std::uint64_t ms);
    // Closes now every stream of this thread's loop that was asked to close after its flush and
    // whose last bytes have reached the kernel: it would only wait out its lingering close (the
    // peer's FIN, up to 2 s). For a process
    // that is exiting: its sessions are done and nothing more can be lost. Returns how many.
    static std::size_t cut_lingering_closes();

    // Textual addresses and ports of both ends (empty ip when unknown); taken at accept time, so
    // they stay valid after the peer has gone. IPv4-mapped IPv6 addresses read as IPv4.
    std::string peer_ip() const;
    std::uint16_t peer_port() const;
    std::string local_ip() const;
    std::uint16_t local_port() const;

    struct Block;  // libuv-owned part (public only for the C callbacks in stream.cpp)

private:
    explicit TcpStream(Block* b) : block_(b) {}
    Block* block_;
};

}  // namespace asmtpd::io
