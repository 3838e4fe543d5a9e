// child_pipes.cpp - the byte side of a child: stdin (string, then a Spool streamed 64 KiB at
// a time), input fds, stdout with its cap, output fds, and stderr split into lines.
//
// Must never: hold more than one chunk of a stdin spool in memory; free a write's bytes before
// its callback; give a child a clean EOF on stdin when the input we owed it could not be read
// (it would take a truncated message for a whole one); touch a pipe after it started closing.
// Ownership: see child_process_impl.hpp. A WriteReq owns its chunk and is freed in its callback
// (libuv runs it, with UV_ECANCELED, before the pipe's close callback).
#include <signal.h>

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "core/io/child_process_impl.hpp"

namespace asmtpd::io {

namespace {

constexpr std::size_t kStdinChunk = 64 * 1024;
constexpr std::size_t kReadBuffer = 64 * 1024;

// One buffer per thread (= per loop) for every child pipe: a read callback consumes its bytes
// before returning, so no two reads ever hold it at once.
char* loop_read_buffer() {
    thread_local std::unique_ptr<char[]> buf = std::make_unique<char[]>(kReadBuffer);
    return buf.get();
}

struct WriteReq {
    uv_write_t req;
    ChildPipe* pipe;   // valid: libuv runs write callbacks before the pipe's close callback
    std::string owned;
};

}  // namespace

void ChildHandle::State::start_io() {
    for (auto& p : pipes) {
        if (is_input(p->kind)) continue;
        int rc = uv_read_start(
            reinterpret_cast<uv_stream_t*>(&p->handle),
            [](uv_handle_t*, std::size_t, uv_buf_t* b) { *b = uv_buf_init(loop_read_buffer(), kReadBuffer); },
            [](uv_stream_t* s, ssize_t n, const uv_buf_t* b) {
                auto* pipe = static_cast<ChildPipe*>(s->data);
                if (n > 0) pipe->owner->on_output(*pipe, b->base, static_cast<std::size_t>(n));
                else if (n < 0) pipe->owner->output_ended(*pipe);
            });
        if (rc != 0) output_ended(*p);
    }
    for (auto& p : pipes)
        if (is_input(p->kind) && phase == Phase::Running && !p->closing) feed(*p);
}

// ------------------------------------------------------------------------------ input

void ChildHandle::State::feed(ChildPipe& p) {
    if (p.kind == PipeKind::Input) {
        if (p.data_sent) return input_settled(p, true);
        p.data_sent = true;
        const std::string& d = spec.input_fds[p.index].data;
        if (d.empty()) return input_settled(p, true);
        return write(p, d.data(), d.size(), {});
    }
    if (!p.data_sent) {
        p.data_sent = true;
        spool_off = spec.stdin_spool_offset;
        if (!spec.stdin_data.empty()) return write(p, spec.stdin_data.data(), spec.stdin_data.size(), {});
    }
    const auto& spool = spec.stdin_spool;
    if (!spool || spool_off >= spool->size()) return input_settled(p, true);
    // One chunk in memory at a time: the next read starts from the write's callback.
    std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(kStdinChunk, spool->size() - spool_off));
    spool->read_async(spool_off, n, [self = shared_from_this(), pp = &p](bool ok, std::string data) {
        if (pp->closing) return;
        if (!ok || data.empty()) {
            // Our side failed: kill first, so the child never reads a clean EOF after a
            // truncated input and takes it for the whole message.
            self->kill_group(SIGKILL);
            return self->input_settled(*pp, false);
        }
        self->spool_off += data.size();
        const char* ptr = data.data();
        std::size_t len = data.size();
        self->write(*pp, ptr, len, std::move(data));
    });
}

void ChildHandle::State::write(ChildPipe& p, const char* data, std::size_t n, std::string owned) {
    auto* w = new WriteReq{{}, &p, std::move(owned)};
    w->req.data = w;
    // A moved std::string keeps its heap buffer, but not a small one: point into the request.
    if (!w->owned.empty()) data = w->owned.data();
    uv_buf_t b = uv_buf_init(const_cast<char*>(data), static_cast<unsigned>(n));
    int rc = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&p.handle), &b, 1, [](uv_write_t* req, int status) {
        auto* wr = static_cast<WriteReq*>(req->data);
        ChildPipe* pipe = wr->pipe;
        delete wr;
        if (pipe->closing) return;   // cancelled, given up or torn down: already accounted for
        if (status < 0) return pipe->owner->input_settled(*pipe, false);   // EPIPE: child gone
        pipe->owner->feed(*pipe);
    });
    if (rc != 0) {
        delete w;
        input_settled(p, false);
    }
}

void ChildHandle::State::input_settled(ChildPipe& p, bool ok) {
    if (p.settled) return;
    p.settled = true;
    if (!ok) result.input_failed = true;
    close_pipe(p);   // EOF for the child (after every byte, or after the kill on failure)
    maybe_complete();
}

// ------------------------------------------------------------------------------ output

void ChildHandle::State::on_output(ChildPipe& p, const char* data, std::size_t n) {
    if (phase != Phase::Running || p.settled) return;
    switch (p.kind) {
        case PipeKind::Stdout: {
            std::size_t room = spec.stdout_limit > result.out.size() ? spec.stdout_limit - result.out.size() : 0;
            result.out.append(data, std::min(n, room));
            if (n > room) {
                result.truncated = true;
                kill_group(SIGKILL);
                output_ended(p);
            }
            break;
        }
        case PipeKind::Output: {
            std::string& out = result.extra_out[p.index];
            std::size_t room = spec.stdout_limit > out.size() ? spec.stdout_limit - out.size() : 0;
            out.append(data, std::min(n, room));   // past the limit: drained and dropped
            break;
        }
        case PipeKind::Stderr:
            stderr_bytes(data, n);
            break;
        default:
            break;
    }
}

void ChildHandle::State::stderr_bytes(const char* data, std::size_t n) {
    auto keep_alive = shared_from_this();   // on_stderr may cancel us
    for (std::size_t i = 0; i < n && phase == Phase::Running; ++i) {
        char c = data[i];
        if (c == '\n') {
            emit_stderr_line();
            continue;
        }
        if (err_line.size() >= spec.stderr_line_limit) {
            err_line_cut = true;
            continue;
        }
        err_line.push_back(c);
    }
}

void ChildHandle::State::emit_stderr_line() {
    std::string line = std::move(err_line);
    err_line.clear();
    err_line_cut = false;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (spec.on_stderr) spec.on_stderr(line);
}

void ChildHandle::State::output_ended(ChildPipe& p) {
    if (p.settled) return;
    p.settled = true;
    if (p.kind == PipeKind::Stderr && (!err_line.empty() || err_line_cut) && phase == Phase::Running) {
        auto keep_alive = shared_from_this();
        emit_stderr_line();
    }
    close_pipe(p);
    maybe_complete();
}

}  // namespace asmtpd::io
