// notes.hpp - the inter-plugin message bus (qpsmtpd's connection/transaction notes).
#pragma once

#include <map>
#include <string>

namespace asmtpd::hooks {
using Notes = std::map<std::string, std::string, std::less<>>;
}
