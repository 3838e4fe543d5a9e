// spool_test.cpp - io::Spool: memory vs file mode, byte-exact round trips, back-pressure,
// unlinked temp files, and failure when the spool directory is missing.
#include "core/io/spool.hpp"

#include <doctest/doctest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <csignal>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "core/io/work.hpp"
#include "t/core/io/test_loop.hpp"

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using asmtpd::io::Spool;
using asmtpd::io::test::pattern;
using asmtpd::io::test::TestLoop;
namespace fs = std::filesystem;

namespace {

// A fresh, empty directory removed at the end of the test.
class TempDir {
public:
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "asmtpd-spool-test-XXXXXX").string();
        REQUIRE(mkdtemp(tmpl.data()) != nullptr);
        path_ = tmpl;
    }
    ~TempDir() { fs::remove_all(path_); }
    const std::string& path() const { return path_; }
    std::size_t entries() const {
        std::size_t n = 0;
        for ([[maybe_unused]] auto& e : fs::directory_iterator(path_)) ++n;
        return n;
    }

private:
    std::string path_;
};

// Reads everything through read_async, chunk by chunk, on the loop.
std::string read_all_async(TestLoop& loop, const std::shared_ptr<Spool>& spool, std::size_t chunk) {
    std::string out;
    bool done = false, ok = true;
    std::function<void()> next = [&] {
        spool->read_async(out.size(), chunk, [&](bool good, std::string data) {
            if (!good) {
                ok = false;
                done = true;
            } else if (data.empty()) {
                done = true;
            } else {
                out += data;
                next();
            }
        });
    };
    next();
    REQUIRE(loop.run_until([&] { return done; }, 20000));
    CHECK(ok);
    return out;
}

std::string read_all_at(const Spool& spool, std::size_t chunk) {
    std::string out, buf(chunk, '\0');
    for (;;) {
        long n = spool.read_at(out.size(), buf.data(), buf.size());
        REQUIRE(n >= 0);
        if (n == 0) break;
        out.append(buf.data(), static_cast<std::size_t>(n));
    }
    return out;
}

}  // namespace

TEST_CASE("a small body stays in memory and finishes synchronously") {
    TestLoop loop;
    TempDir dir;
    auto spool = Spool::create(loop.get(), dir.path(), 1024);
    spool->append("Subject: hi\r\n\r\n");
    spool->append("");
    spool->append(std::string(1024 - 15, 'x'));   // exactly at the threshold: still memory
    CHECK(spool->size() == 1024);
    CHECK(spool->pending() == 0);   // in memory nothing waits for the disk
    CHECK_FALSE(spool->in_file());
    CHECK(spool->fd() == -1);
    CHECK(spool->memory().size() == 1024);
    CHECK(spool->memory().substr(0, 15) == "Subject: hi\r\n\r\n");

    int calls = 0;
    bool result = false;
    spool->finish([&](bool ok) { ++calls; result = ok; });
    CHECK(calls == 1);   // no loop turn needed
    CHECK(result);
    loop.run_for(20);
    CHECK_FALSE(spool->in_file());
    CHECK(dir.entries() == 0);

    char buf[8];
    CHECK(spool->read_at(9, buf, sizeof buf) == 8);
    CHECK(std::string(buf, 8) == "hi\r\n\r\nxx");
    CHECK(spool->read_at(1020, buf, sizeof buf) == 4);
    CHECK(spool->read_at(1024, buf, sizeof buf) == 0);
    CHECK(spool->read_at(5000, buf, sizeof buf) == 0);

    // read_async answers in-memory spools synchronously.
    std::string got = "unset";
    spool->read_async(1022, 100, [&](bool ok, std::string d) { CHECK(ok); got = d; });
    CHECK(got == "xx");
    CHECK(read_all_async(loop, spool, 100) == spool->memory());
}

TEST_CASE("a large body goes to an unlinked file and round-trips byte-exact") {
    TestLoop loop;
    TempDir dir;
    const std::string body = pattern(3 * 1024 * 1024 + 17, 3);   // odd size: no chunk aligns
    std::weak_ptr<Spool> weak;
    {
        auto spool = Spool::create(loop.get(), dir.path(), 64 * 1024);
        weak = spool;
        // Uneven appends, as a DATA decoder produces them.
        std::size_t off = 0, step = 1;
        while (off < body.size()) {
            const std::size_t n = std::min(step, body.size() - off);
            spool->append(std::string_view(body).substr(off, n));
            off += n;
            step = step * 3 % 70001 + 1;
        }
        CHECK(spool->size() == body.size());
        CHECK(spool->pending() > 0);

        bool finished = false, ok = false;
        spool->finish([&](bool good) { finished = true; ok = good; });
        REQUIRE(loop.run_until([&] { return finished; }, 20000));
        CHECK(ok);
        CHECK_FALSE(spool->failed());
        CHECK(spool->in_file());
        CHECK(spool->pending() == 0);
        CHECK(spool->memory().empty());

        // Unlinked right after creation: the directory is empty and the fd points at "(deleted)".
        CHECK(dir.entries() == 0);
        REQUIRE(spool->fd() >= 0);
        std::error_code ec;
        const std::string target = fs::read_symlink("/proc/self/fd/" + std::to_string(spool->fd()), ec).string();
        REQUIRE_FALSE(ec);
        CHECK(target.rfind(dir.path() + "/asmtpd-spool-", 0) == 0);
        CHECK(target.size() > 10);
        CHECK(target.substr(target.size() - 10) == " (deleted)");
        CHECK(fs::file_size("/proc/self/fd/" + std::to_string(spool->fd())) == body.size());

        CHECK(read_all_at(*spool, 65536) == body);
        CHECK(read_all_at(*spool, 999) == body);
        CHECK(read_all_async(loop, spool, 100000) == body);

        // read_at from a pool thread, as a queue backend would use it.
        std::string from_pool;
        bool pool_done = false;
        asmtpd::io::run_in_pool(
            loop.get(), [&] { from_pool = read_all_at(*spool, 12345); }, [&] { pool_done = true; });
        REQUIRE(loop.run_until([&] { return pool_done; }, 20000));
        CHECK(from_pool == body);

        // Past the end: empty data, ok.
        bool end_seen = false;
        spool->read_async(body.size() + 10, 10, [&](bool good, std::string d) {
            end_seen = good && d.empty();
        });
        CHECK(loop.run_until([&] { return end_seen; }));
    }
    CHECK(weak.expired());   // no request kept it alive
}

TEST_CASE("back-pressure: pending() grows while a write is in flight and on_drained fires at zero") {
    TestLoop loop;
    TempDir dir;
    auto spool = Spool::create(loop.get(), dir.path(), 0);   // straight to file
    const std::string chunk = pattern(256 * 1024, 5);
    spool->append(chunk);
    // The file is still being created: everything is pending.
    CHECK(spool->pending() == chunk.size());
    CHECK_FALSE(spool->in_file());

    // Registered once, as a session does at DATA; it must fire at every drop to zero.
    int drained = 0;
    spool->on_drained([&] { ++drained; });
    REQUIRE(loop.run_until([&] { return drained == 1; }));
    CHECK(spool->pending() == 0);
    CHECK(spool->in_file());

    // A session pausing at a high-water mark: keep appending until pending() passes it, then
    // wait for on_drained, and check memory never exceeded the mark by more than one append.
    const std::size_t high_water = 1024 * 1024;
    std::size_t max_pending = 0;
    std::string expected = chunk;
    int pauses = 0;
    for (int i = 0; i < 40; ++i) {
        const std::string part = pattern(100 * 1024, 100 + i);
        spool->append(part);
        expected += part;
        max_pending = std::max(max_pending, spool->pending());
        if (spool->pending() > high_water) {
            ++pauses;
            const int before = drained;
            REQUIRE(loop.run_until([&] { return drained > before; }, 20000));
            CHECK(spool->pending() == 0);
        }
    }
    CHECK(pauses > 0);
    CHECK(max_pending <= high_water + 100 * 1024);
    loop.run_for(20);

    bool finished = false;
    spool->finish([&](bool ok) { finished = ok; });
    REQUIRE(loop.run_until([&] { return finished; }, 20000));
    CHECK(spool->size() == expected.size());
    CHECK(read_all_at(*spool, 1 << 20) == expected);
    // One drop per write cycle, so at least one per pause; never more than the writes issued.
    CHECK(drained >= pauses + 1);
}

TEST_CASE("the spool may be released while its writes are in flight") {
    TestLoop loop;
    TempDir dir;
    std::weak_ptr<Spool> weak;
    {
        auto spool = Spool::create(loop.get(), dir.path(), 10);
        weak = spool;
        spool->append(pattern(2 * 1024 * 1024, 9));
    }
    CHECK_FALSE(weak.expired());   // the mkstemp request holds it
    REQUIRE(loop.run_until([&] { return weak.expired(); }, 20000));
    CHECK(dir.entries() == 0);
}

TEST_CASE("a missing spool directory fails the spool without hanging anyone") {
    TestLoop loop;
    TempDir dir;
    auto spool = Spool::create(loop.get(), dir.path() + "/missing", 16);
    spool->append("0123456789");
    CHECK_FALSE(spool->failed());   // still in memory
    spool->append("0123456789");    // past the threshold: mkstemp starts
    int drained = 0;
    spool->on_drained([&] { ++drained; });
    REQUIRE(loop.run_until([&] { return spool->failed(); }));
    CHECK(drained == 1);             // a paused session gets woken up
    CHECK(spool->pending() == 0);    // the buffered bytes were dropped
    CHECK_FALSE(spool->in_file());

    spool->append("more");           // ignored, but still counted
    CHECK(spool->size() == 24);
    CHECK(spool->pending() == 0);

    int calls = 0;
    bool result = true;
    spool->finish([&](bool ok) { ++calls; result = ok; });
    CHECK(calls == 1);
    CHECK_FALSE(result);

    char buf[4];
    CHECK(spool->read_at(0, buf, 4) == -1);
    bool read_ok = true;
    spool->read_async(0, 4, [&](bool ok, std::string) { read_ok = ok; });
    CHECK_FALSE(read_ok);
}

TEST_CASE("finish() waiting for the file creation is answered with failure") {
    TestLoop loop;
    auto spool = Spool::create(loop.get(), "/nonexistent-asmtpd-dir", 0);
    spool->append("x");
    int calls = 0;
    bool result = true;
    spool->finish([&](bool ok) { ++calls; result = ok; });
    CHECK(calls == 0);   // mkstemp is still on its way
    REQUIRE(loop.run_until([&] { return calls == 1; }));
    CHECK_FALSE(result);
}

TEST_CASE("write errors (file size limit) fail the spool") {
    // RLIMIT_FSIZE with SIGXFSZ ignored makes write(2) fail with EFBIG, like a full disk.
    TestLoop loop;
    TempDir dir;
    struct rlimit old {};
    REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
    auto prev = std::signal(SIGXFSZ, SIG_IGN);
    struct rlimit small = old;
    small.rlim_cur = 64 * 1024;
    REQUIRE(setrlimit(RLIMIT_FSIZE, &small) == 0);

    auto spool = Spool::create(loop.get(), dir.path(), 0);
    for (int i = 0; i < 8; ++i) spool->append(pattern(32 * 1024, i));
    bool finished = false, ok = true;
    spool->finish([&](bool good) { finished = true; ok = good; });
    const bool settled = loop.run_until([&] { return finished; }, 20000);

    setrlimit(RLIMIT_FSIZE, &old);
    std::signal(SIGXFSZ, prev);
    REQUIRE(settled);
    CHECK_FALSE(ok);
    CHECK(spool->failed());
    CHECK(spool->pending() == 0);
    CHECK(spool->size() == 8 * 32 * 1024);
}

TEST_CASE("memory: a file spool holds no write buffers once drained, and only small ones meanwhile") {
    TestLoop loop;
    TempDir dir;
    auto spool = Spool::create(loop.get(), dir.path(), 65536);
    int drained = 0;
    spool->on_drained([&] { ++drained; });
    // A 1 MB message arriving in 16 KiB reads, the session pausing at 128 KiB pending.
    const std::string body = pattern(1024 * 1024, 9);
    std::size_t peak = 0;
    for (std::size_t off = 0; off < body.size(); off += 16384) {
        spool->append(std::string_view(body).substr(off, 16384));
        peak = std::max(peak, spool->memory_held());
        if (spool->pending() > 128 * 1024) {
            const int before = drained;
            REQUIRE(loop.run_until([&] { return drained > before; }));
        }
    }
    bool done = false;
    spool->finish([&](bool ok) { done = ok; });
    REQUIRE(loop.run_until([&] { return done; }));
    CHECK(spool->in_file());
    CHECK(spool->size() == body.size());
    CHECK(spool->memory_held() == std::string().capacity() * 2);   // both released
    // The burst that crossed the threshold (64 KiB + one read) and two buffers of at most the
    // high-water mark plus one read: never the doubling growth of a 1 MB string.
    CHECK(peak <= 2 * (128 * 1024 + 16384) * 2);
    std::string back(body.size(), '\0');
    CHECK(spool->read_at(0, back.data(), back.size()) == static_cast<long>(body.size()));
    CHECK(back == body);
}

}  // namespace ASMTPD_TEST_UNIT
