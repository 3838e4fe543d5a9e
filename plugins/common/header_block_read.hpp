// header_block_read.hpp - the message's own header block at data_post, read back from the
// spool, for the header checks (headers, loop, bogus_bounce, uribl's check-headers).
//
// The block is the first Transaction::header_bytes of the spool (the session measured it as
// the client sent it, without the empty line); at most max_bytes of it are read. A spool in
// memory answers at once (inside the call); a spool on disk answers from a loop callback after
// asynchronous file reads (never blocking the loop). `done` gets nullopt when the spool failed or the read
// did; it never runs after the session ended (lifetime() expired) or once the HookCall is no
// longer wanted. Owner: the header check plugins.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>

#include "hooks/context.hpp"
#include "hooks/hook_call.hpp"

namespace asmtpd::plugins {

inline constexpr std::size_t kMaxHeaderBlockRead = 1024 * 1024;

using HeaderBlockDone = std::function<void(std::optional<std::string> block)>;

// `call` is the hook's HookCall: when the read ends after the chain moved on (timeout,
// disconnect), the call is resolved DECLINED and `done` does not run.
void read_header_block(hooks::Context& ctx, const hooks::HookCall& call, std::size_t max_bytes,
                       HeaderBlockDone done);

}  // namespace asmtpd::plugins
