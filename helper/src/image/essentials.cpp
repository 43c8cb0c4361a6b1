#include "image/essentials.hpp"

#include <algorithm>
#include <fstream>

#include "base/error.hpp"
#include "base/files.hpp"

namespace fs = std::filesystem;

namespace mai {
namespace {

// A file of ours whose bytes are `content`, rewritten only when they differ: its inode and times are
// part of the layer cache's key.
fs::path generated(const fs::path& dir, const std::string& name, const std::string& content) {
  auto path = dir / name;
  std::error_code ec;
  if (!fs::is_regular_file(path, ec) || read_text_file(path) != content) write_file_atomically(path, content);
  return path;
}

bool has(const ImageSpec& image, std::string_view item) {
  return std::find(image.essentials.begin(), image.essentials.end(), item) != image.essentials.end();
}

// Whether the first MiB of `path` holds a PEM certificate: a bundle that does not is a
// mistake (a DER file, a key, the wrong path) that would leave every TLS client without roots.
bool holds_a_certificate(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text(std::size_t{1} << 20, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return text.find("-----BEGIN CERTIFICATE-----") != std::string::npos;
}

}  // namespace

Essentials essential_entries(const ImageSpec& image, const fs::path& dir) {
  Essentials out;
  const auto add = [&](LayerEntry entry, const char* item) { out.entries.push_back({std::move(entry), item}); };
  std::error_code ec;
  if (has(image, "accounts")) {
    add({"etc/passwd", LayerEntry::Kind::file, generated(dir, "passwd", kEssentialPasswd), {}, false}, "accounts");
    add({"etc/group", LayerEntry::Kind::file, generated(dir, "group", kEssentialGroup), {}, false}, "accounts");
    // The homes distroless makes: root's and nonroot's their own only.
    add({"root", LayerEntry::Kind::directory, {}, {}, true, {std::nullopt, std::nullopt, 0700, 0}}, "accounts");
    add({"home/nonroot", LayerEntry::Kind::directory, {}, {}, true, {65532, 65532, 0700, 0}}, "accounts");
  }
  if (has(image, "ca-certificates")) {
    const auto& bundle = image.ca_bundle;
    if (!fs::is_regular_file(bundle, ec))
      throw Error(Exit::invalid_input, "ESSENTIALS ca-certificates: there is no CA bundle at " + bundle.string() +
                                           " (MULTIARCH_IMAGE_CA_BUNDLE) on this machine; install the package "
                                           "ca-certificates (apt-get install ca-certificates), or set "
                                           "MULTIARCH_IMAGE_CA_BUNDLE to a PEM bundle of your own");
    if (!holds_a_certificate(bundle))
      throw Error(Exit::invalid_input, "ESSENTIALS ca-certificates: " + bundle.string() +
                                           " (MULTIARCH_IMAGE_CA_BUNDLE) holds no PEM certificate (no -----BEGIN "
                                           "CERTIFICATE----- line): TLS clients in the image would trust nothing");
    add({"etc/ssl/certs/ca-certificates.crt", LayerEntry::Kind::file, bundle, {}, false}, "ca-certificates");
    for (const auto& [link, target] : kCaBundleLinks)
      add({link, LayerEntry::Kind::symlink, {}, target, false}, "ca-certificates");
    out.inputs.push_back(bundle);
  }
  if (has(image, "tzdata")) {
    const auto& root = image.zoneinfo;
    if (!fs::is_directory(root, ec))
      throw Error(Exit::invalid_input, "ESSENTIALS tzdata: there is no time zone database at " + root.string() +
                                           " on this machine; install the package tzdata (apt-get install tzdata)");
    const auto prefix = fs::path("usr/share/zoneinfo");
    out.inputs.push_back(root);
    fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const auto relative = it->path().lexically_relative(root);
      const auto in_image = (prefix / relative).generic_string();
      std::error_code entry_ec;
      const auto status = it->symlink_status(entry_ec);
      if (fs::is_symlink(status)) {
        // Kept when it stays inside the database (US/Eastern -> ../America/New_York); a link out of it
        // names what the image does not have.
        const auto target = fs::read_symlink(it->path(), entry_ec);
        const auto resolved = (relative.parent_path() / target).lexically_normal();
        if (entry_ec || target.is_absolute() || resolved.empty() || *resolved.begin() == "..") continue;
        add({in_image, LayerEntry::Kind::symlink, {}, target.string(), false}, "tzdata");
      } else if (fs::is_directory(status)) {
        out.inputs.push_back(it->path());  // a file added or removed changes it
      } else if (fs::is_regular_file(status)) {
        add({in_image, LayerEntry::Kind::file, it->path(), {}, false}, "tzdata");
        out.inputs.push_back(it->path());
      }
    }
    if (ec) throw Error(Exit::invalid_input, "ESSENTIALS tzdata: cannot read " + root.string() + ": " + ec.message());
  }
  if (has(image, "tmp")) add({"tmp", LayerEntry::Kind::directory, {}, {}, true, {std::nullopt, std::nullopt, 01777, 0}}, "tmp");
  return out;
}

}  // namespace mai
