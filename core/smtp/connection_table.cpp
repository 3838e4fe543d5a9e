// connection_table.cpp - per-instance connection counts in shared memory (see the header).
#include "core/smtp/connection_table.hpp"

#include <pthread.h>
#include <sys/mman.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <new>
#include <vector>

#include "core/smtp/shared_mutex.hpp"

namespace asmtpd::smtp {

namespace {
constexpr std::size_t kKeyBytes = 46;     // INET6_ADDRSTRLEN: the text form of any address
constexpr char kEmpty = '\0';
constexpr char kTombstone = '\x01';        // a freed slot: probing goes on past it
}  // namespace

struct ConnectionTable::Header {
    pthread_mutex_t mutex;
    std::uint64_t total[kMaxWorkers];
    std::size_t used;         // slots holding an address
    std::size_t tombstones;   // freed slots not reused yet
};

class ConnectionTable::Lock {
public:
    // A worker died holding the lock: what it was changing is one count, which the
    // supervisor's reset_worker forgets anyway.
    explicit Lock(Header& h) : guard_(h.mutex) {}

private:
    SharedMutexLock guard_;
};

std::shared_ptr<ConnectionTable> ConnectionTable::create(unsigned workers, std::string& error) {
    if (workers == 0) workers = 1;
    if (workers > kMaxWorkers) {
        error = "more than " + std::to_string(kMaxWorkers) + " workers";
        return nullptr;
    }
    const std::size_t slot_bytes = kKeyBytes + sizeof(std::uint16_t) * workers;
    const std::size_t size = sizeof(Header) + kSlots * ((slot_bytes + 7) & ~std::size_t(7));
    void* base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (base == MAP_FAILED) {
        error = std::string("connection table: mmap: ") + std::strerror(errno);
        return nullptr;
    }
    auto* h = new (base) Header{};
    if (const int rc = init_shared_mutex(h->mutex); rc != 0) {
        munmap(base, size);
        error = std::string("connection table: mutex: ") + std::strerror(rc);
        return nullptr;
    }
    return std::make_shared<ConnectionTable>(Token{}, base, size, workers);
}

ConnectionTable::ConnectionTable(Token, void* base, std::size_t size, unsigned workers)
    : base_(base), size_(size), workers_(workers),
      slot_bytes_((kKeyBytes + sizeof(std::uint16_t) * workers + 7) & ~std::size_t(7)) {}

ConnectionTable::~ConnectionTable() { munmap(base_, size_); }

char* ConnectionTable::slot(std::size_t i) const {
    return static_cast<char*>(base_) + sizeof(Header) + i * slot_bytes_;
}

std::uint16_t* ConnectionTable::counts(char* s) const { return reinterpret_cast<std::uint16_t*>(s + kKeyBytes); }

// The slot holding `ip`, or (insert) the first free one on its probe path; kSlots if none.
std::size_t ConnectionTable::find(std::string_view ip, bool insert) const {
    const std::size_t start = std::hash<std::string_view>{}(ip) % kSlots;
    std::size_t free_slot = kSlots;
    for (std::size_t n = 0; n < kSlots; ++n) {
        const std::size_t i = (start + n) % kSlots;
        char* s = slot(i);
        if (s[0] == kEmpty) return insert && free_slot == kSlots ? i : (insert ? free_slot : kSlots);
        if (s[0] == kTombstone) {
            if (free_slot == kSlots) free_slot = i;
            continue;
        }
        if (std::strncmp(s, ip.data(), ip.size()) == 0 && s[ip.size()] == '\0') return i;
    }
    return insert ? free_slot : kSlots;
}

// Too many tombstones make every probe long: rebuild the address table (under the lock).
void ConnectionTable::compact() {
    std::vector<char> live;
    std::size_t n = 0;
    for (std::size_t i = 0; i < kSlots; ++i) {
        char* s = slot(i);
        if (s[0] != kEmpty && s[0] != kTombstone) {
            live.insert(live.end(), s, s + slot_bytes_);
            ++n;
        }
        std::memset(s, 0, slot_bytes_);
    }
    auto& h = *static_cast<Header*>(base_);
    h.tombstones = 0;
    h.used = n;
    for (std::size_t k = 0; k < n; ++k) {
        const char* old = live.data() + k * slot_bytes_;
        const std::size_t i = find(std::string_view(old, strnlen(old, kKeyBytes)), true);
        std::memcpy(slot(i), old, slot_bytes_);
    }
}

ConnectionTable::Counts ConnectionTable::add(unsigned worker, std::string_view ip) {
    auto& h = *static_cast<Header*>(base_);
    Lock lock(h);
    Counts out;
    if (worker < workers_) ++h.total[worker];
    for (unsigned w = 0; w < workers_; ++w) out.total += h.total[w];
    if (ip.empty() || ip.size() >= kKeyBytes || worker >= workers_) {
        out.ip_counted = false;
        return out;
    }
    if (h.tombstones > kSlots / 4) compact();
    std::size_t i = find(ip, false);
    if (i == kSlots) {
        if (h.used + h.tombstones >= kSlots * 3 / 4 && h.tombstones == 0) {
            out.ip_counted = false;   // full: see the header
            return out;
        }
        i = find(ip, true);
        if (i == kSlots) {
            out.ip_counted = false;
            return out;
        }
        char* s = slot(i);
        if (s[0] == kTombstone) --h.tombstones;
        std::memset(s, 0, slot_bytes_);
        std::memcpy(s, ip.data(), ip.size());
        ++h.used;
    }
    std::uint16_t* c = counts(slot(i));
    if (c[worker] < UINT16_MAX) ++c[worker];
    for (unsigned w = 0; w < workers_; ++w) out.from_ip += c[w];
    return out;
}

void ConnectionTable::remove(unsigned worker, std::string_view ip) {
    auto& h = *static_cast<Header*>(base_);
    Lock lock(h);
    if (worker >= workers_) return;
    if (h.total[worker] > 0) --h.total[worker];
    if (ip.empty() || ip.size() >= kKeyBytes) return;
    const std::size_t i = find(ip, false);
    if (i == kSlots) return;   // counted in the total only
    char* s = slot(i);
    std::uint16_t* c = counts(s);
    if (c[worker] > 0) --c[worker];
    for (unsigned w = 0; w < workers_; ++w)
        if (c[w] != 0) return;
    std::memset(s, 0, slot_bytes_);
    s[0] = kTombstone;
    --h.used;
    ++h.tombstones;
}

void ConnectionTable::reset_worker(unsigned worker) {
    auto& h = *static_cast<Header*>(base_);
    Lock lock(h);
    if (worker >= workers_) return;
    h.total[worker] = 0;
    for (std::size_t i = 0; i < kSlots; ++i) {
        char* s = slot(i);
        if (s[0] == kEmpty || s[0] == kTombstone) continue;
        std::uint16_t* c = counts(s);
        c[worker] = 0;
        bool any = false;
        for (unsigned w = 0; w < workers_; ++w) any = any || c[w] != 0;
        if (!any) {
            std::memset(s, 0, slot_bytes_);
            s[0] = kTombstone;
            --h.used;
            ++h.tombstones;
        }
    }
}

}  // namespace asmtpd::smtp
