// header_block_read.cpp - the header block from the spool. See header_block_read.hpp.
#include "plugins/common/header_block_read.hpp"

#include <algorithm>
#include <memory>

namespace asmtpd::plugins {

namespace {

struct Read {
    std::shared_ptr<io::Spool> spool;
    std::uint64_t want;
    std::weak_ptr<const void> life;
    hooks::HookCall call;
    HeaderBlockDone done;
    std::string block;
};

// Spool reads may come back short (a file read is capped): ask again until the block is whole.
void next(std::shared_ptr<Read> r) {
    if (r->block.size() >= r->want) return r->done(std::move(r->block));
    const std::uint64_t off = r->block.size();
    const auto len = static_cast<std::size_t>(r->want - off);
    auto spool = r->spool;   // r moves into the callback below
    spool->read_async(off, len, [r = std::move(r)](bool ok, std::string data) mutable {
        if (r->life.expired() || !r->call.wanted()) return r->call.declined();
        if (!ok || data.empty()) return r->done(std::nullopt);
        r->block += data;
        next(std::move(r));
    });
}

}  // namespace

void read_header_block(hooks::Context& ctx, const hooks::HookCall& call, std::size_t max_bytes, HeaderBlockDone done) {
    const hooks::Transaction* t = ctx.transaction();
    if (!t || !t->body || t->body->failed()) return done(std::nullopt);
    const std::uint64_t want = std::min<std::uint64_t>({t->header_bytes, t->body->size(), max_bytes});
    next(std::make_shared<Read>(Read{t->body, want, ctx.lifetime(), call, std::move(done), {}}));
}

}  // namespace asmtpd::plugins
