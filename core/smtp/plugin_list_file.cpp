// plugin_list_file.cpp - see plugin_list_file.hpp.
#include "core/smtp/plugin_list_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <fmt/format.h>

namespace asmtpd::smtp {

namespace {

namespace fs = std::filesystem;

constexpr std::string_view kInclude = "$include";
constexpr std::size_t kMaxDepth = 16;

struct Reader {
    std::string config_dir;
    proto::PluginList out;
    std::vector<std::string> stack;   // canonical paths being read, for loop detection

    static std::string canonical(const std::string& p) {
        std::error_code ec;
        auto c = fs::weakly_canonical(p, ec);
        return ec ? p : c.string();
    }

    std::string resolve(std::string_view target) const {
        if (!target.empty() && target.front() == '/') return std::string(target);
        return config_dir + "/" + std::string(target);
    }

    // Reads `path` (a file or a directory); `from` is the "file:line" that included it.
    void read(const std::string& path, const std::string& from) {
        const std::string key = canonical(path);
        if (std::find(stack.begin(), stack.end(), key) != stack.end() || stack.size() >= kMaxDepth) {
            std::string chain;
            for (const auto& s : stack) chain += s + " -> ";
            out.errors.push_back(fmt::format("{}: $include loop ({}{}), not followed", from, chain, key));
            return;
        }
        std::error_code ec;
        if (fs::is_directory(path, ec)) {
            std::vector<std::string> files;
            for (fs::directory_iterator it(path, ec), end; !ec && it != end; it.increment(ec)) {
                const std::string name = it->path().filename().string();
                std::error_code fec;
                if (name.empty() || name.front() == '.' || !it->is_regular_file(fec)) continue;
                files.push_back(it->path().string());
            }
            if (ec) {
                out.errors.push_back(fmt::format("{}: $include {}: cannot list the directory: {}", from, path, ec.message()));
                return;
            }
            std::sort(files.begin(), files.end());
            stack.push_back(key);
            for (const auto& f : files) read(f, from);
            stack.pop_back();
            return;
        }
        std::ifstream in(path, std::ios::binary);
        if (!in) {
            if (stack.empty()) out.errors.push_back(path + ":0: cannot read the plugin list");
            else out.errors.push_back(fmt::format("{}: $include {}: cannot read: {}", from, path, std::strerror(errno)));
            return;
        }
        std::stringstream ss;
        ss << in.rdbuf();
        stack.push_back(key);
        splice(ss.str(), path);
        stack.pop_back();
    }

    // Parses one file's text; "$include" lines are cut out and read in their place.
    void splice(const std::string& text, const std::string& path) {
        // The lines since the last include; the lines before it are kept as empty lines so
        // the parser's line numbers stay true.
        std::string chunk;
        int lineno = 0;
        std::string_view rest = text;
        auto flush = [&] {
            proto::PluginList part = proto::parse_plugin_list(chunk, path);
            for (auto& p : part.plugins) out.plugins.push_back(std::move(p));
            for (auto& e : part.errors) out.errors.push_back(std::move(e));
            chunk.clear();
        };
        while (!rest.empty()) {
            ++lineno;
            const auto lf = rest.find('\n');
            std::string_view line = rest.substr(0, lf);
            rest.remove_prefix(lf == std::string_view::npos ? rest.size() : lf + 1);
            std::string_view t = line;
            while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
            while (!t.empty() && (t.back() == ' ' || t.back() == '\t' || t.back() == '\r')) t.remove_suffix(1);
            const bool include = t.substr(0, kInclude.size()) == kInclude &&
                                 (t.size() == kInclude.size() || t[kInclude.size()] == ' ' || t[kInclude.size()] == '\t');
            if (!include) {
                chunk.append(line);
                chunk += '\n';
                continue;
            }
            chunk += '\n';   // keeps the numbering of the lines that follow
            flush();
            std::string_view target = t.substr(kInclude.size());
            while (!target.empty() && (target.front() == ' ' || target.front() == '\t')) target.remove_prefix(1);
            const std::string from = fmt::format("{}:{}", path, lineno);
            if (target.empty() || target.find_first_of(" \t") != std::string_view::npos) {
                out.errors.push_back(from + ": $include needs exactly one file or directory name");
                continue;
            }
            const std::string inc = resolve(target);
            std::error_code ec;
            if (!fs::exists(inc, ec)) {
                out.errors.push_back(fmt::format("{}: $include {}: no such file or directory", from, inc));
                continue;
            }
            read(inc, from);
            // The parser numbers the next chunk from 1: pad it so its lines keep their numbers.
            chunk.assign(static_cast<std::size_t>(lineno), '\n');
        }
        flush();
    }
};

}  // namespace

proto::PluginList read_plugin_list(const std::string& config_dir) {
    Reader r;
    r.config_dir = config_dir;
    r.read(config_dir + "/plugins", config_dir + "/plugins:0");
    return std::move(r.out);
}

}  // namespace asmtpd::smtp
