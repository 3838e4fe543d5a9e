// connection_table_test.cpp - tests core/smtp/connection_table.cpp: counts across workers and
// across fork (the workers' case), forgetting a dead worker, many addresses (tombstones and
// compaction), and the full table counting the total only; checked against a plain model.
#include "core/smtp/connection_table.hpp"

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <random>
#include <string>

namespace ASMTPD_TEST_UNIT {  // this file's own namespace: tests build in unity batches (CMakeLists.txt)

using namespace asmtpd::smtp;

namespace {
std::shared_ptr<ConnectionTable> make(unsigned workers) {
    std::string error;
    auto t = ConnectionTable::create(workers, error);
    REQUIRE_MESSAGE(t, error);
    return t;
}
}  // namespace

TEST_CASE("connection table: totals and per-IP counts add up over workers") {
    auto t = make(2);
    CHECK(t->add(0, "192.0.2.1").from_ip == 1);
    CHECK(t->add(1, "192.0.2.1").from_ip == 2);
    const auto c = t->add(1, "2001:db8::1");
    CHECK(c.total == 3);
    CHECK(c.from_ip == 1);
    t->remove(0, "192.0.2.1");
    CHECK(t->add(0, "192.0.2.1").from_ip == 2);
    CHECK(t->add(0, "192.0.2.9").total == 4);
}

TEST_CASE("connection table: a forked worker's counts are seen by its sibling") {
    auto t = make(2);
    t->add(0, "198.51.100.7");
    const pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
        const auto c = t->add(1, "198.51.100.7");
        _exit(c.from_ip == 2 && c.total == 2 ? 0 : 1);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 0);
    CHECK(t->add(0, "198.51.100.7").from_ip == 3);
    SUBCASE("the supervisor forgets the dead worker") {
        t->reset_worker(1);
        const auto c = t->add(0, "198.51.100.7");
        CHECK(c.from_ip == 3);   // worker 0's three
        CHECK(c.total == 3);
    }
}

TEST_CASE("connection table: many addresses come and go (model check)") {
    auto t = make(3);
    std::map<std::string, std::map<unsigned, int>> model;
    std::mt19937 rng(7);
    std::uint64_t total = 0;
    for (int step = 0; step < 200000; ++step) {
        const std::string ip = "10." + std::to_string(rng() % 40) + "." + std::to_string(rng() % 250) + ".1";
        const unsigned w = rng() % 3;
        if (rng() % 2 == 0 || model[ip][w] == 0) {
            const auto c = t->add(w, ip);
            ++model[ip][w];
            ++total;
            int want = 0;
            for (auto& [_, n] : model[ip]) want += n;
            REQUIRE(c.ip_counted);
            REQUIRE(c.from_ip == std::uint64_t(want));
            REQUIRE(c.total == total);
        } else {
            t->remove(w, ip);
            --model[ip][w];
            --total;
        }
    }
}

TEST_CASE("connection table: a full address table counts the total only") {
    auto t = make(1);
    std::uint64_t n = 0;
    bool overflowed = false;
    for (std::size_t i = 0; i < ConnectionTable::kSlots; ++i) {
        const auto c = t->add(0, "fd00::" + std::to_string(i));
        ++n;
        CHECK(c.total == n);
        if (!c.ip_counted) {
            overflowed = true;
            break;
        }
    }
    CHECK(overflowed);
    CHECK(t->add(0, "").ip_counted == false);
}

}  // namespace ASMTPD_TEST_UNIT
