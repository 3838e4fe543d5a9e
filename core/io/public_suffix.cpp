// public_suffix.cpp - libpsl behind io::PublicSuffixList. See public_suffix.hpp.
#include "core/io/public_suffix.hpp"

#include <libpsl.h>

#include "core/proto/text.hpp"

namespace asmtpd::io {

std::shared_ptr<const PublicSuffixList> PublicSuffixList::load(const std::string& path, std::string* error) {
    psl_ctx_t* psl = path.empty() ? psl_latest(nullptr) : psl_load_file(path.c_str());
    bool owned = true;
    if (!psl && path.empty()) {
        psl = const_cast<psl_ctx_t*>(psl_builtin());
        owned = false;
    }
    if (!psl) {
        if (error) *error = path.empty() ? "no public suffix list (libpsl has none built in)"
                                         : "cannot read public suffix list '" + path + "'";
        return nullptr;
    }
    std::string source = path;
    if (source.empty()) {
        const char* dist = psl_dist_filename();
        source = dist && *dist ? std::string("libpsl latest (") + dist + ")" : "libpsl built-in";
    }
    return std::make_shared<const PublicSuffixList>(Private{}, psl, owned, std::move(source));
}

PublicSuffixList::~PublicSuffixList() {
    if (owned_) psl_free(psl_);
}

std::string PublicSuffixList::organizational_domain(std::string_view domain) const {
    if (!domain.empty() && domain.back() == '.') domain.remove_suffix(1);
    const std::string name = proto::to_lower(domain);
    if (name.empty()) return name;
    const char* registrable = psl_registrable_domain(psl_, name.c_str());
    return registrable ? std::string(registrable) : name;
}

}  // namespace asmtpd::io
