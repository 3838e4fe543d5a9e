// imap_login_fuzz.cpp - libFuzzer target for core/proto/imap_login.cpp: the input is what an
// IMAP server sent (split at the first NUL: the rest is a user name and password for the
// command). Invariants: reading more bytes never turns a decided answer into another one, and
// a LOGIN command is exactly two CRLF-ended lines plus literal octets, never a raw CR or LF
// taken from the credentials.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/proto/imap_login.hpp"
#include "t/fuzz/fuzz_check.hpp"

using namespace asmtpd::proto;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    const auto nul = in.find('\0');
    const std::string_view reply = in.substr(0, nul);
    const auto full = read_imap_login_reply(reply, "a1");
    FUZZ_CHECK(full.text.size() <= 200);
    // Every prefix is either undecided or decided the same way.
    for (std::size_t n = 0; n < reply.size(); n += 1 + reply.size() / 16) {
        const auto part = read_imap_login_reply(reply.substr(0, n), "a1");
        FUZZ_CHECK(part.status == ImapLoginStatus::Incomplete || part.status == full.status);
    }
    if (nul != std::string_view::npos) {
        const std::string_view creds = in.substr(nul + 1);
        const auto mid = creds.size() / 2;
        const std::string_view user = creds.substr(0, mid), pass = creds.substr(mid);
        auto cmd = imap_login_command("a1", "a2", user, pass);
        const bool sendable = !user.empty() && !pass.empty() &&
                              user.find_first_of(std::string_view("\0\r\n", 3)) == std::string_view::npos &&
                              pass.find_first_of(std::string_view("\0\r\n", 3)) == std::string_view::npos;
        FUZZ_CHECK(cmd.has_value() == sendable);
        if (cmd) {
            FUZZ_CHECK(cmd->rfind("a1 LOGIN ", 0) == 0);
            FUZZ_CHECK(cmd->size() >= 11 && cmd->substr(cmd->size() - 11) == "a2 LOGOUT\r\n");
            // No line of the command starts with a2 before LOGOUT, except a literal's data
            // (a line that follows "{N}"), which may begin with any bytes.
            FUZZ_CHECK(cmd->rfind("\r\na2 ") == cmd->size() - 11 - 2);
            for (auto at = cmd->find("\r\na2 "); at < cmd->size() - 13; at = cmd->find("\r\na2 ", at + 1))
                FUZZ_CHECK(at > 0 && (*cmd)[at - 1] == '}');
        }
    }
    return 0;
}
