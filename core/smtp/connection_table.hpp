// connection_table.hpp - the instance's open connections, counted across all its worker
// processes: limits.max_connections and limits.max_connections_per_ip hold for the instance,
// not per worker (with `workers: 2` and max_connections_per_ip 3 one IP used to get 6).
//
// One shared anonymous mapping made before the workers are forked, so every worker sees it;
// a process-shared robust mutex guards it (a worker that dies holding it does not wedge the
// others). Each count is kept per worker, so the supervisor can forget a dead worker's
// connections (reset_worker) before it starts the replacement. Per-IP counts live in an open-
// addressed table of kSlots addresses; when more distinct addresses than that are connected
// at once, further ones are counted in the total only (their per-IP limit is not enforced,
// which is logged by the caller, never a refusal of an innocent client).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace asmtpd::smtp {

class ConnectionTable {
public:
    static constexpr std::size_t kSlots = 32768;
    static constexpr unsigned kMaxWorkers = 256;

    struct Counts {
        std::uint64_t total = 0;    // the instance's connections, this one included
        std::uint64_t from_ip = 0;  // the instance's connections from this IP, this one included
        bool ip_counted = true;     // false: the address table was full (total only)
    };

    // Shared with the processes forked after it; null with a reason when mmap or the mutex fails.
    static std::shared_ptr<ConnectionTable> create(unsigned workers, std::string& error);
    ~ConnectionTable();
    ConnectionTable(const ConnectionTable&) = delete;
    ConnectionTable& operator=(const ConnectionTable&) = delete;

    Counts add(unsigned worker, std::string_view ip);
    void remove(unsigned worker, std::string_view ip);
    // The supervisor: `worker` died; its connections are gone with it.
    void reset_worker(unsigned worker);

private:
    struct Token {};   // only create() makes one

public:
    ConnectionTable(Token, void* base, std::size_t size, unsigned workers);

private:
    struct Header;
    class Lock;
    char* slot(std::size_t i) const;
    std::uint16_t* counts(char* slot) const;
    std::size_t find(std::string_view ip, bool insert) const;
    void compact();

    void* base_;
    std::size_t size_;
    unsigned workers_;
    std::size_t slot_bytes_;
};

}  // namespace asmtpd::smtp
