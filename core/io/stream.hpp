// stream.hpp - a byte stream to one client: the Transport a session talks to, and its TCP
// implementation on libuv.
//
// Rules: the session never sees libuv. TcpStream embeds its uv_tcp_t in a heap block that is
// released only in the close callback; destroying the TcpStream closes the socket, and no event
// reaches the listener after close() or destruction. Writes are queued in order; each write
// request owns its bytes until its callback.
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
    // Accepts one pending connection from a listening handle; null on failure.
    static std::unique_ptr<TcpStream> accept_from(uv_stream_t* server);
    ~TcpStream() override;

    void set_listener(StreamListener* l) override;
    void write(std::string bytes) override;
    std::size_t queued_bytes() const override;
    void pause_reading() override;
    void resume_reading() override;
    void close_after_flush() override;
    void close_now() override;
    bool closed() const override;

    // Textual addresses and ports of both ends (empty ip when unknown).
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
