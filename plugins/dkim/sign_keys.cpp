// sign_keys.cpp - loading config/dkim/<domain>/{selector,private} (see sign_keys.hpp).
#include "plugins/dkim/sign_keys.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "core/proto/from_domain.hpp"
#include "core/proto/text.hpp"

namespace asmtpd::plugins::dkim {

namespace fs = std::filesystem;

namespace {

// The whole file, or an error "<path>: <strerror>".
std::optional<std::string> read_file(const fs::path& path, std::string& error) {
    std::error_code ec;
    if (fs::exists(path, ec) && !fs::is_regular_file(path, ec)) {
        error = path.string() + ": not a regular file";
        return std::nullopt;
    }
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        error = path.string() + ": " + std::strerror(errno);
        return std::nullopt;
    }
    std::ostringstream out;
    out << in.rdbuf();
    if (in.bad()) {
        error = path.string() + ": read error";
        return std::nullopt;
    }
    return out.str();
}

// A domain directory (or the target of an alias): its selector and key.
std::optional<SigningKey> load_domain(const fs::path& dir, std::string domain, std::string& error) {
    const fs::path selector_path = dir / "selector";
    auto selector_text = read_file(selector_path, error);
    if (!selector_text) return std::nullopt;
    std::string_view selector = *selector_text;
    selector = selector.substr(0, selector.find('\n'));
    while (!selector.empty() && (selector.back() == '\r' || selector.back() == ' ' || selector.back() == '\t'))
        selector.remove_suffix(1);
    while (!selector.empty() && (selector.front() == ' ' || selector.front() == '\t')) selector.remove_prefix(1);
    if (!proto::valid_host_domain(selector)) {
        error = selector_path.string() + ": the selector '" + std::string(selector) + "' is not a DNS name";
        return std::nullopt;
    }
    const fs::path key_path = dir / "private";
    auto pem = read_file(key_path, error);
    if (!pem) return std::nullopt;
    auto loaded = io::dkim::load_private_key_pem(*pem);
    if (!loaded.key) {
        error = key_path.string() + ": " + loaded.error;
        return std::nullopt;
    }
    return SigningKey{std::move(domain), proto::to_lower(selector), std::move(*loaded.key), key_path.string()};
}

}  // namespace

std::optional<std::string> SigningKeys::load(const std::string& dir) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) return dir + ": " + (ec ? ec.message() : "not a directory") + " (the DKIM signing keys)";
    std::vector<fs::directory_entry> entries;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) entries.push_back(*it);
    if (ec) return dir + ": " + ec.message();
    std::sort(entries.begin(), entries.end());   // the same first error on every start
    for (const auto& e : entries) {
        const std::string name = e.path().filename().string();
        if (!e.is_directory(ec)) continue;   // a file (dkim_key_gen.sh, README), or a link to one
        if (!proto::valid_host_domain(name))
            return e.path().string() + ": the directory name is not a domain name";
        std::string domain = proto::to_lower(name);
        fs::path keydir = e.path();
        if (e.is_symlink(ec)) {
            // An alias: the key and d= of the directory it points to (qpsmtpd's convention).
            keydir = fs::canonical(e.path(), ec);
            if (ec) return e.path().string() + ": " + ec.message();
            const std::string target = keydir.filename().string();
            if (!proto::valid_host_domain(target))
                return e.path().string() + ": links to " + keydir.string() + ", whose name is not a domain name";
            domain = proto::to_lower(target);
        }
        std::string error;
        auto key = load_domain(keydir, std::move(domain), error);
        if (!key) return error;
        keys_.insert_or_assign(proto::to_lower(name), std::move(*key));
    }
    if (keys_.empty()) return dir + ": no signing keys (expected <domain>/selector and <domain>/private)";
    return std::nullopt;
}

const SigningKey* SigningKeys::find(std::string_view domain) const {
    while (!domain.empty()) {
        if (auto it = keys_.find(domain); it != keys_.end()) return &it->second;
        const auto dot = domain.find('.');
        if (dot == std::string_view::npos) break;
        domain.remove_prefix(dot + 1);
    }
    return nullptr;
}

}  // namespace asmtpd::plugins::dkim
