// state_store.cpp - status names and the backend factory; see state_store.hpp.
#include "core/io/state_store.hpp"

#include "core/io/lmdb_store.hpp"
#include "core/io/redis_store.hpp"

namespace asmtpd::io {

const char* state_status_name(StateStatus s) {
    switch (s) {
    case StateStatus::Ok: return "ok";
    case StateStatus::Unavailable: return "unavailable";
    case StateStatus::Timeout: return "timeout";
    }
    return "?";
}

std::unique_ptr<StateStore> make_state_store(uv_loop_t* loop, const StateOptions& o) {
    if (o.backend == StateOptions::Backend::Redis) return std::make_unique<RedisStore>(loop, o);
    return std::make_unique<LmdbStore>(loop, o);
}

}  // namespace asmtpd::io
