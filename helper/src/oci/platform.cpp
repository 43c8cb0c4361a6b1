// Normalisation follows containerd's platforms package: aliases of an architecture map to one name,
// and a variant that is the architecture's default is dropped.
#include "oci/platform.hpp"

#include <algorithm>
#include <array>
#include <cctype>

#include "base/error.hpp"
#include "base/text.hpp"

namespace mai {
namespace {

constexpr std::array kOperatingSystems{"linux", "windows", "freebsd"};
constexpr std::string_view kValidForms =
    "valid: <os>/<arch>[/<variant>] with os linux, windows or freebsd and arch amd64 (variants v2-v4), "
    "arm64 (v8, v8.1-v8.9, v9, v9.1-v9.5), arm (v5, v6, v7, v8), 386, ppc64le, s390x, riscv64, mips64le, "
    "loong64; aliases x86_64, aarch64, armhf, armel, i386 are accepted";

[[noreturn]] void invalid(std::string_view text, std::string_view why) {
  throw Error(Exit::invalid_input,
              "invalid platform '" + std::string(text) + "': " + std::string(why) + " (" + std::string(kValidForms) + ")");
}

std::string normalise_arch(std::string arch, std::string& variant) {
  if (arch == "x86_64" || arch == "x86-64") return "amd64";
  if (arch == "i386" || arch == "i686") return "386";
  if (arch == "aarch64") return "arm64";
  if (arch == "armhf") {
    if (variant.empty()) variant = "v7";
    return "arm";
  }
  if (arch == "armel") {
    if (variant.empty()) variant = "v6";
    return "arm";
  }
  return arch;
}

bool valid_variant(const std::string& arch, const std::string& v) {
  if (arch == "arm") return v == "v5" || v == "v6" || v == "v7" || v == "v8";
  if (arch == "amd64") return v == "v1" || v == "v2" || v == "v3" || v == "v4";
  if (arch == "arm64") {
    if (v == "v8" || v == "v9") return true;
    return v.size() == 4 && (v.starts_with("v8.") || v.starts_with("v9.")) && v[3] >= '0' && v[3] <= '9';
  }
  return false;  // the remaining architectures have no variants
}

}  // namespace

std::string Platform::str() const { return os + "/" + arch + (variant.empty() ? "" : "/" + variant); }
std::string Platform::tag_suffix() const { return arch + variant; }
std::string Platform::target_suffix() const { return os + "-" + arch + (variant.empty() ? "" : "-" + variant); }

Platform parse_platform(std::string_view text) {
  if (text.empty()) invalid(text, "empty");
  std::array<std::string, 3> parts;
  std::size_t count = 0;
  std::size_t start = 0;
  while (true) {
    const auto slash = text.find('/', start);
    if (count == parts.size()) invalid(text, "too many '/'-separated parts");
    parts[count++] = lowercase(text.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (parts[count - 1].empty()) invalid(text, "empty part");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (count < 2) invalid(text, "expected at least <os>/<arch>");

  Platform p;
  p.os = parts[0];
  if (std::find(kOperatingSystems.begin(), kOperatingSystems.end(), p.os) == kOperatingSystems.end())
    invalid(text, "unknown operating system '" + p.os + "'");

  p.variant = count == 3 ? parts[2] : "";
  if (p.variant.size() == 1 && std::isdigit(static_cast<unsigned char>(p.variant[0]))) p.variant = "v" + p.variant;
  p.arch = normalise_arch(parts[1], p.variant);

  static constexpr std::array kArchitectures{"amd64", "arm64",   "arm",      "386",    "ppc64le",
                                             "s390x", "riscv64", "mips64le", "loong64"};
  if (std::find(kArchitectures.begin(), kArchitectures.end(), p.arch) == kArchitectures.end())
    invalid(text, "unknown architecture '" + parts[1] + "'");

  if (p.arch == "arm" && p.variant.empty()) p.variant = "v7";
  if (!p.variant.empty() && !valid_variant(p.arch, p.variant)) invalid(text, "unknown variant '" + p.variant + "' for " + p.arch);
  if ((p.arch == "arm64" && p.variant == "v8") || (p.arch == "amd64" && p.variant == "v1")) p.variant.clear();
  return p;
}

}  // namespace mai
