// ESSENTIALS: what a minimal image needs to run a real service, which a `scratch` image lacks and
// distroless's static image has: accounts (root, nobody and the non-root user nonroot with its home),
// the build machine's CA bundle where TLS libraries look for it, its time zone database, and a /tmp
// anyone may write. One layer of the image of its own, below the project's (assemble.cpp).
#pragma once

#include <array>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include "image/layer.hpp"
#include "model/spec.hpp"

namespace mai {

// The accounts `accounts` writes, as distroless has them: each user with a group of its own id.
inline constexpr const char* kEssentialPasswd =
    "root:x:0:0:root:/root:/sbin/nologin\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
    "nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n";
inline constexpr const char* kEssentialGroup =
    "root:x:0:\n"
    "nobody:x:65534:\n"
    "nonroot:x:65532:\n";

// The paths besides the bundle where TLS libraries built elsewhere look for it, each a relative link
// to it: OpenSSL as Debian and Ubuntu build it (OPENSSLDIR /usr/lib/ssl, its default file cert.pem),
// OpenSSL and LibreSSL with OPENSSLDIR /etc/ssl (Alpine, most builds from source), and the bundle of
// Fedora, RHEL and Amazon Linux (curl and Go read it there).
inline constexpr std::array<std::pair<const char*, const char*>, 3> kCaBundleLinks{{
    {"usr/lib/ssl/cert.pem", "../../../etc/ssl/certs/ca-certificates.crt"},
    {"etc/ssl/cert.pem", "certs/ca-certificates.crt"},
    {"etc/pki/tls/certs/ca-bundle.crt", "../../../ssl/certs/ca-certificates.crt"},
}};

struct Essentials {
  struct Entry {
    LayerEntry entry;  // its path relative to the image's root, as every layer entry
    std::string item;  // what gave it: accounts, ca-certificates, tzdata or tmp
  };
  std::vector<Entry> entries;
  std::vector<std::filesystem::path> inputs;  // this machine's files and directories they are made of, for the depfile
};

// The entries of `image.essentials`. The account files are written into `dir` (only when their
// content changes, so that an unchanged layer is taken from the cache). The CA bundle is
// `image.ca_bundle`, which must be a PEM file; the time zone database is `image.zoneinfo`, whose
// links out of it (Debian's localtime -> /etc/localtime) are left out. A missing bundle or database
// is an error naming the package that provides it.
Essentials essential_entries(const ImageSpec& image, const std::filesystem::path& dir);

}  // namespace mai
