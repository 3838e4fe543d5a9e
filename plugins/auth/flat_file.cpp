// NAME
//   auth/flat_file - AUTH PLAIN, LOGIN and CRAM-MD5 against a file of crypt(3) hashes.
// SYNOPSIS
//   auth/flat_file [PATH] [parallel N]
//     PATH      the user file; relative names are taken from the config directory; default
//               flat_auth_pw. Read once at start-up and on every reload (SIGHUP); a bad line
//               fails the load with its line number.
//     parallel  hash checks running at once on libuv's thread pool (default 2, 1..64), so a
//               flood of AUTH attempts cannot take every pool thread from spool and maildir I/O.
//               Checks past it wait in FIFO order; one whose session gave up is skipped.
// FILE (one user a line; '#' comment lines and blank lines ignored; trailing blanks and CR
// dropped; no other trimming):
//   user:HASH[:CRAM-SECRET]
//     user         non-empty, no ':', white space or control bytes; matched exactly (case counts)
//     HASH         crypt(3) as libxcrypt writes it: yescrypt "$y$...", sha512-crypt "$6$...",
//                  bcrypt "$2b$...", scrypt, gost-yescrypt, sha256-crypt "$5$..." (legacy). DES
//                  hashes (no leading '$') are refused: they silently cut passwords to 8 bytes.
//                  "*" = no password login (CRAM-MD5 only, with a secret); "!" followed by
//                  anything (shadow's lock) = the account is disabled for every mechanism.
//                  Make one with: mkpasswd -m yescrypt (Debian package whois), or
//                  openssl passwd -6 (sha512-crypt).
//     CRAM-SECRET  optional, the CRAM-MD5 shared secret in plain text (the rest of the line,
//                  ':' allowed, no trailing white space). Security trade-off: CRAM-MD5 needs
//                  the secret itself, so whoever reads this file can log in as these users;
//                  the hash field has no such exposure. Give such users a secret that is not
//                  their password, keep the file mode 0600 or 0640, and prefer PLAIN/LOGIN
//                  over TLS. A world-writable file is refused.
// HOOKS
//   auth_plain, auth_login: crypt_rn(password, HASH) on the thread pool (never on the loop),
//   then a constant-time comparison. Right password -> OK; wrong password, "*" or "!" -> DENY;
//   a password over 511 bytes (libxcrypt's limit) or holding a NUL is always wrong (bcrypt, as
//   everywhere, reads only the first 72 bytes). Unknown user -> DECLINED (a later auth plugin
//   may know the user; with none, the client gets the same 535 as for a wrong password; with
//   one, the extra work of that plugin shows in the timing, as in any chain of back ends).
//   Timing: an unknown, "*" or "!" user still costs one crypt_rn against a real hash from the
//   file (chosen by the user name, so the time matches some user's), so the reply's delay does
//   not reveal which users exist. With no real hash in the file, a fresh yescrypt setting.
//   auth_cram_md5: HMAC-MD5(secret, challenge) compared in constant time with the client's
//   digest. Match -> OK; mismatch or "!" -> DENY; unknown user or no secret -> DECLINED (another
//   plugin, e.g. auth/checkpassword, may hold CRAM secrets).
// Rules: never log or keep a password past its check (copies are wiped); the HookCall is
// resolved on the loop thread only; the pool job owns everything it reads (the plugin may be
// replaced by a reload while a check runs).
#include <crypt.h>
#include <string.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/io/crypto.hpp"
#include "core/io/reactor.hpp"
#include "hooks/plugin.hpp"
#include "core/proto/plugin_args.hpp"

namespace asmtpd::plugins {

namespace {

constexpr const char* kDefaultFile = "flat_auth_pw";
constexpr std::size_t kMaxPassword = CRYPT_MAX_PASSPHRASE_SIZE - 1;   // libxcrypt refuses longer
constexpr std::size_t kLogUser = 100;

struct User {
    std::string hash;         // crypt(3) string, or "*" / "!..."
    std::string cram;         // empty: no CRAM-MD5 for this user
    bool disabled() const { return !hash.empty() && hash[0] == '!'; }
    bool no_password() const { return hash == "*" || disabled(); }
};

struct Table {
    std::map<std::string, User, std::less<>> users;
    std::vector<std::string> decoys;   // real hashes of the file, for unknown users' timing
};

void wipe(std::string& s) {
    if (!s.empty()) ::explicit_bzero(s.data(), s.size());
    s.clear();
}

std::string_view shown(std::string_view user) { return user.substr(0, kLogUser); }

bool valid_user(std::string_view u) {
    if (u.empty()) return false;
    for (char c : u) {
        auto b = static_cast<unsigned char>(c);
        if (b <= 0x20 || b == 0x7f || c == ':') return false;
    }
    return true;
}

// nullopt when the hash is usable, else why not.
std::optional<std::string> check_hash(std::string_view h) {
    if (h.empty()) return "empty hash";
    if (h == "*" || h[0] == '!') return std::nullopt;
    for (char c : h) {
        auto b = static_cast<unsigned char>(c);
        if (b <= 0x20 || b >= 0x7f) return "white space or a control byte in the hash";
    }
    if (h[0] != '$') return "DES or unknown hash (use yescrypt \"$y$\" or sha512-crypt \"$6$\")";
    std::string z(h);
    switch (::crypt_checksalt(z.c_str())) {
        case CRYPT_SALT_OK:
        case CRYPT_SALT_METHOD_LEGACY:
        case CRYPT_SALT_TOO_CHEAP: return std::nullopt;
        case CRYPT_SALT_METHOD_DISABLED: return "hash method disabled in libxcrypt";
        default: return "not a hash libxcrypt understands";
    }
}

std::optional<std::string> parse_table(std::istream& in, const std::string& path, Table& t) {
    std::map<std::string, std::size_t, std::less<>> first_line;
    std::string line;
    for (std::size_t no = 1; std::getline(in, line); ++no) {
        while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
        std::size_t lead = line.find_first_not_of(" \t");
        if (lead == std::string::npos || line[lead] == '#') continue;
        auto err = [&](const std::string& why) { return path + ":" + std::to_string(no) + ": " + why; };
        std::size_t c1 = line.find(':');
        if (c1 == std::string::npos) return err("expected user:hash[:cram-secret]");
        std::string name = line.substr(0, c1);
        if (!valid_user(name)) return err("bad user name (empty, or white space, ':' or a control byte)");
        std::size_t c2 = line.find(':', c1 + 1);
        User u;
        u.hash = line.substr(c1 + 1, c2 == std::string::npos ? std::string::npos : c2 - c1 - 1);
        if (c2 != std::string::npos) u.cram = line.substr(c2 + 1);
        if (auto why = check_hash(u.hash)) return err("user '" + name + "': " + *why);
        for (char c : u.cram)
            if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return err("control byte in the CRAM-MD5 secret");
        if (auto [it, fresh] = first_line.emplace(name, no); !fresh)
            return err("user '" + name + "' already defined on line " + std::to_string(it->second));
        if (!u.no_password()) t.decoys.push_back(u.hash);
        t.users.emplace(std::move(name), std::move(u));
    }
    if (in.bad()) return path + ": read error";
    if (t.decoys.empty()) {
        // No real hash to borrow: a fresh yescrypt setting costs what a yescrypt check costs.
        char setting[CRYPT_GENSALT_OUTPUT_SIZE];
        if (!::crypt_gensalt_rn("$y$", 0, nullptr, 0, setting, sizeof setting))
            return path + ": cannot make a decoy hash (crypt_gensalt_rn failed)";
        t.decoys.emplace_back(setting);
    }
    return std::nullopt;
}

// FNV-1a: a stable pick of the decoy, so one unknown name always costs the same.
std::size_t pick(std::string_view user, std::size_t n) {
    std::uint64_t h = 1469598103934665603ULL;
    for (char c : user) h = (h ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    return static_cast<std::size_t>(h % n);
}

enum class Kind { Real, Unknown, NoPassword };

// One password check; lives until its pool job has finished.
struct Check {
    std::optional<io::Reactor> reactor;
    hooks::HookCall call;
    io::Log log;
    std::string user, mech;
    Kind kind = Kind::Unknown;
    std::string password;   // wiped when the check ends
    std::string hash;       // real or decoy
    bool password_usable = true;
    bool matched = false;   // written by the pool thread, read after `after`

    void run() {
        auto data = std::make_unique<crypt_data>();   // value-initialised: zeroed, as crypt_rn wants
        const char* out = ::crypt_rn(password.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
        matched = out != nullptr && out[0] != '*' && io::constant_time_equal(out, hash);
        ::explicit_bzero(data.get(), sizeof(crypt_data));
        wipe(password);
    }

    void finish() {
        switch (kind) {
            case Kind::Unknown:
                log.info("auth/flat_file: {} for unknown user '{}': declined", mech, shown(user));
                return call.declined();
            case Kind::NoPassword:
                log.notice("auth/flat_file: {} refused for '{}' (no password login)", mech, shown(user));
                return call.deny();
            case Kind::Real:
                if (matched && password_usable) {
                    log.info("auth/flat_file: {} accepted for '{}'", mech, shown(user));
                    return call.ok();
                }
                log.notice("auth/flat_file: {} wrong password for '{}'", mech, shown(user));
                return call.deny();
        }
    }

    ~Check() {
        wipe(password);
        if (!call.resolved()) call.deny_soft();   // torn down unrun (shutdown): answer, quietly
    }
};

// Bounds how many checks use the pool at once. Loop thread only.
struct CryptQueue {
    std::size_t max_running = 2;
    std::size_t running = 0;
    std::deque<std::shared_ptr<Check>> waiting;
};

void pump(const std::shared_ptr<CryptQueue>& q);

void start(const std::shared_ptr<CryptQueue>& q, std::shared_ptr<Check> c) {
    ++q->running;
    c->reactor->run_in_pool([c] { c->run(); }, [q, c] {
        --q->running;
        c->finish();
        pump(q);
    });
}

void pump(const std::shared_ptr<CryptQueue>& q) {
    while (q->running < q->max_running && !q->waiting.empty()) {
        auto c = std::move(q->waiting.front());
        q->waiting.pop_front();
        if (!c->call.wanted()) continue;   // the session timed out or left: spare the pool
        start(q, std::move(c));
    }
}

class FlatFile final : public hooks::Plugin {
public:
    std::optional<std::string> init(const hooks::PluginInit& in) override {
        const auto& args = in.line.args;
        std::optional<std::string> file;
        for (std::size_t i = 0; i < args.size(); ++i) {
            if (args[i] == "parallel") {
                if (i + 1 >= args.size()) return "'parallel' needs a value";
                auto n = proto::parse_count(args[++i]);
                if (!n || *n < 1 || *n > 64) return "bad parallel '" + args[i] + "' (1..64)";
                queue_->max_running = static_cast<std::size_t>(*n);
                continue;
            }
            if (file) return "unexpected argument '" + args[i] + "' (usage: [PATH] [parallel N])";
            if (args[i].empty()) return "empty path";
            file = args[i];
        }
        const std::string path = in.server.path(file.value_or(kDefaultFile));

        struct stat st {};
        if (::stat(path.c_str(), &st) != 0) return "cannot read " + path + ": " + std::strerror(errno);
        if (st.st_mode & S_IWOTH) return path + " is world-writable: anyone could add a user";
        warnings_.clear();
        if (st.st_mode & S_IROTH)
            warnings_.push_back(path + " is readable by other users (its hashes and CRAM-MD5 secrets): chmod o-r it");
        std::ifstream f(path, std::ios::binary);
        if (!f) return "cannot read " + path;
        auto table = std::make_shared<Table>();
        if (auto err = parse_table(f, path, *table)) return err;
        table_ = std::move(table);
        return std::nullopt;
    }

    std::vector<std::string> init_warnings() const override { return warnings_; }

    void register_hooks(hooks::Registrar& r) override {
        r.on<hooks::Hook::AuthPlain>(&FlatFile::on_password);
        r.on<hooks::Hook::AuthLogin>(&FlatFile::on_password);
        r.on<hooks::Hook::AuthCramMd5>(&FlatFile::on_cram);
    }

private:
    void on_password(hooks::Context& ctx, const hooks::AuthArgs& a, hooks::HookCall call) {
        auto c = std::make_shared<Check>();
        c->reactor = ctx.reactor();
        c->call = std::move(call);
        c->log = ctx.log();
        c->user = a.user;
        c->mech = a.mechanism.empty() ? "AUTH" : a.mechanism;
        // A NUL would end the C string early and let "right\0anything" pass; an overlong
        // password only buys the client CPU time. Both are checked (for equal timing), never OK.
        c->password_usable = a.secret.size() <= kMaxPassword && a.secret.find('\0') == std::string::npos;
        c->password = a.secret.substr(0, kMaxPassword);
        auto it = table_->users.find(a.user);
        if (it == table_->users.end() || it->second.no_password()) {
            c->kind = it == table_->users.end() ? Kind::Unknown : Kind::NoPassword;
            c->hash = table_->decoys[pick(a.user, table_->decoys.size())];
        } else {
            c->kind = Kind::Real;
            c->hash = it->second.hash;
        }
        queue_->waiting.push_back(std::move(c));
        pump(queue_);
    }

    void on_cram(hooks::Context& ctx, const hooks::AuthArgs& a, hooks::HookCall call) {
        auto it = table_->users.find(a.user);
        const bool known = it != table_->users.end() && !it->second.cram.empty();
        // Same HMAC work either way; the answer for the unknown case is thrown away.
        const bool matched = io::cram_md5_verify(known ? std::string_view(it->second.cram) : std::string_view("decoy"),
                                                 a.ticket, a.secret);
        if (!known) {
            ctx.log().info("auth/flat_file: CRAM-MD5 for '{}': no secret here, declined", shown(a.user));
            return call.declined();
        }
        if (matched && !it->second.disabled()) {
            ctx.log().info("auth/flat_file: CRAM-MD5 accepted for '{}'", shown(a.user));
            return call.ok();
        }
        ctx.log().notice("auth/flat_file: CRAM-MD5 {} for '{}'", matched ? "refused (disabled)" : "wrong digest",
                         shown(a.user));
        call.deny();
    }

    std::shared_ptr<const Table> table_ = std::make_shared<Table>();
    std::shared_ptr<CryptQueue> queue_ = std::make_shared<CryptQueue>();
    std::vector<std::string> warnings_;   // init(): what init_warnings() reports
};

}  // namespace

std::unique_ptr<hooks::Plugin> make_auth_flat_file() { return std::make_unique<FlatFile>(); }

}  // namespace asmtpd::plugins
