#include "registry/copy.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "oci/contents.hpp"
#include "oci/media_types.hpp"

namespace mai {
namespace {

// One manifest of the source as it was read, and what it points at.
struct Node {
  Manifest manifest;
  ManifestContents contents;
  std::string subject;  // a referrer: the manifest it describes; "" one of the image's own
  Descriptor listed;    // a referrer: its entry as the source lists it (artifact type, annotations)
};

std::string short_digest(const std::string& d) { return d.substr(0, 19); }

// Reads `digests` from the source, all at once; each must be there.
std::vector<Manifest> read_all(RegistryClient& from, const std::vector<std::string>& digests, const std::string& what) {
  std::vector<Manifest> out;
  auto got = from.get_manifests(digests);
  for (std::size_t i = 0; i < digests.size(); ++i) {
    if (!got[i]) throw Error(Exit::step_failed, what + " " + digests[i] + " is not in the source repository");
    out.push_back(std::move(*got[i]));
  }
  return out;
}

// The image's manifests: the root, then what each index lists, a level at a time.
void read_image(RegistryClient& from, const CopyRequest& request, std::vector<Node>& nodes, std::set<std::string>& seen) {
  const auto root = from.get_manifest(checked_digest(request.digest, "the digest to copy"));
  if (!root) throw Error(Exit::step_failed, request.digest + " is not in the source repository");
  nodes.push_back({*root, manifest_contents(root->bytes, root->media_type, request.digest), "", {}});
  seen.insert(root->digest);
  for (std::size_t begin = 0, end = nodes.size(); begin < end; begin = end, end = nodes.size()) {
    std::vector<std::string> next;
    for (std::size_t i = begin; i < end; ++i)
      for (const auto& m : nodes[i].contents.manifests)
        if (seen.insert(m.digest).second) next.push_back(m.digest);
    for (auto& m : read_all(from, next, "the manifest")) {
      auto contents = manifest_contents(m.bytes, m.media_type, "the manifest " + m.digest);
      nodes.push_back({std::move(m), std::move(contents), "", {}});
    }
  }
}

// The referrers of every manifest read so far, and theirs (a signature of an SBOM), a level at a time:
// what the source lists for each, and the documents the request names. Each is read and must name
// the subject it is listed for (a list that names another's referrer stops the copy).
void read_referrers(RegistryClient& from, const CopyRequest& request, std::vector<Node>& nodes, std::set<std::string>& seen) {
  for (std::size_t begin = 0, end = nodes.size(); begin < end; begin = end, end = nodes.size()) {
    std::vector<std::string> next;
    std::vector<std::pair<std::string, Descriptor>> entries;  // subject, listed entry
    std::set<std::pair<std::string, std::string>> asked;
    for (std::size_t i = begin; i < end; ++i) {
      const auto& subject = nodes[i].manifest.digest;
      for (auto& d : referrers(from, subject).listed)
        if (asked.emplace(subject, d.digest).second) entries.emplace_back(subject, std::move(d));
      for (const auto& [of, document] : request.documents)
        if (of == subject && asked.emplace(subject, document).second)
          entries.emplace_back(subject, Descriptor{"", document, 0, "", "", {}});
    }
    next.reserve(entries.size());
    for (const auto& e : entries) next.push_back(e.second.digest);
    auto manifests = read_all(from, next, "the referrer");
    for (std::size_t i = 0; i < manifests.size(); ++i) {
      auto& [subject, listed] = entries[i];
      const auto what = "the referrer " + next[i] + " of " + short_digest(subject);
      auto contents = manifest_contents(manifests[i].bytes, manifests[i].media_type, what);
      if (contents.subject != subject)
        throw Error(Exit::verify_failed, what + " names " + (contents.subject.empty() ? "no subject" : contents.subject) +
                                             " as its subject; nothing was copied");
      if (!seen.insert(next[i]).second) continue;
      listed.media_type = manifests[i].media_type;
      listed.size = static_cast<std::int64_t>(manifests[i].bytes.size());
      if (listed.artifact_type.empty()) listed.artifact_type = contents.artifact_type;
      nodes.push_back({std::move(manifests[i]), std::move(contents), subject, std::move(listed)});
    }
  }
}

// Every blob the nodes name, once: present ones left alone, others mounted (same registry) or
// streamed through a file.
void copy_blobs(RegistryClient& from, RegistryClient& to, bool same_registry, const CopyRequest& request,
                const std::vector<Node>& nodes, CopyResult& out) {
  std::set<std::string> done;
  for (const auto& node : nodes)
    for (const auto& blob : node.contents.blobs) {
      if (!done.insert(blob.digest).second) continue;
      if (to.has_blob(blob.digest)) {
        ++out.blobs_present;
        continue;
      }
      RegistryClient::Mount mount;
      if (same_registry) mount = to.mount_blob(blob.digest, request.from_path);
      if (mount.mounted) {
        ++out.blobs_mounted;
        continue;
      }
      std::filesystem::create_directories(request.scratch);
      const auto file = request.scratch / ("blob-" + blob.digest.substr(7));
      from.fetch_blob(blob.digest, file);
      to.put_blob(blob.digest, file, mount.session);
      out.bytes_copied += static_cast<std::int64_t>(std::filesystem::file_size(file));
      std::filesystem::remove(file);
      ++out.blobs_copied;
    }
}

// One destination of what was read.
CopyResult copy_to(RegistryClient& from, const CopyDestination& destination, const CopyRequest& request,
                   const std::vector<Node>& nodes, std::size_t image_nodes, const Log& log) {
  auto& to = *destination.client;
  CopyResult out;
  out.media_type = nodes.front().manifest.media_type;
  copy_blobs(from, to, destination.same_registry, request, nodes, out);

  // Manifests below before those above (a registry may refuse an index whose manifests it lacks),
  // the image's before their referrers; each by digest, byte for byte.
  std::vector<std::size_t> order;
  for (std::size_t i = image_nodes; i-- > 0;) order.push_back(i);
  for (std::size_t i = image_nodes; i < nodes.size(); ++i) order.push_back(i);
  std::vector<std::string> digests;
  digests.reserve(order.size());
  for (const auto i : order) digests.push_back(nodes[i].manifest.digest);
  const auto present = to.get_manifests(digests);
  std::vector<std::string> put;
  std::map<std::string, bool> indexed;  // a referrer put now: whether the registry indexed its subject
  for (std::size_t k = 0; k < order.size(); ++k) {
    const auto& m = nodes[order[k]].manifest;
    if (present[k]) {
      ++out.manifests_present;
      continue;
    }
    bool subject_indexed = false;
    const auto stated = to.put_manifest(m.digest, m.media_type, m.bytes, &subject_indexed);
    if (!stated.empty() && stated != m.digest)
      throw Error(Exit::verify_failed, "the destination stored " + m.digest + " as " + stated);
    indexed[m.digest] = subject_indexed;
    put.push_back(m.digest);
    ++out.manifests_put;
  }
  const auto back = to.get_manifests(put);
  for (std::size_t k = 0; k < put.size(); ++k)
    if (!back[k] || back[k]->digest != put[k])
      throw Error(Exit::verify_failed, put[k] + " does not read back from the destination as it was copied");

  // Each subject's referrers listed where the destination lists them: its referrers API (indexed when
  // put), else the referrers tag there, merged with what it lists already.
  std::map<std::string, std::vector<const Node*>> by_subject;
  std::vector<std::string> subjects;
  for (std::size_t i = image_nodes; i < nodes.size(); ++i) {
    if (!by_subject.count(nodes[i].subject)) subjects.push_back(nodes[i].subject);
    by_subject[nodes[i].subject].push_back(&nodes[i]);
    out.referrers.push_back({nodes[i].subject, nodes[i].listed});
  }
  int weakest = 0;  // api 0, tag 1, none 2
  for (const auto& subject : subjects) {
    const auto& listed = by_subject[subject];
    ReferrersIndex index = ReferrersIndex::api;
    const bool all_indexed = std::all_of(listed.begin(), listed.end(), [&](const Node* n) {
      const auto it = indexed.find(n->manifest.digest);
      return it != indexed.end() && it->second;
    });
    if (!all_indexed) {
      const auto found = referrers(to, subject);
      std::vector<const Node*> missing;
      for (const auto* n : listed)
        if (std::none_of(found.listed.begin(), found.listed.end(),
                         [&](const Descriptor& d) { return d.digest == n->manifest.digest; }))
          missing.push_back(n);
      index = found.index;
      if (!missing.empty()) {
        if (found.index == ReferrersIndex::api) {
          for (const auto* n : missing) to.put_manifest(n->manifest.digest, n->manifest.media_type, n->manifest.bytes);
        } else if (!request.write_tag) {
          index = ReferrersIndex::none;
        } else if (found.index == ReferrersIndex::tag) {
          std::vector<Descriptor> entries;
          entries.reserve(missing.size());
          for (const auto* n : missing) entries.push_back(n->listed);
          index = list_in_referrers_tag(to, subject, entries, log);
        }
      }
      if (index == ReferrersIndex::none)
        log.warn(to.base_url() + " lists no referrers of " + short_digest(subject) + ": its " + std::to_string(listed.size()) +
                 " referrer(s) are there by digest only");
    }
    weakest = std::max(weakest, index == ReferrersIndex::api ? 0 : index == ReferrersIndex::tag ? 1 : 2);
  }
  out.index = weakest == 0 ? ReferrersIndex::api : weakest == 1 ? ReferrersIndex::tag : ReferrersIndex::none;
  if (subjects.empty()) out.index = ReferrersIndex::tag;

  // The tags: those that hold something else get the copied bytes, then each is read back.
  const auto& root = nodes.front().manifest;
  const auto current = to.get_manifests(request.tags);
  std::vector<std::string> retag;
  for (std::size_t t = 0; t < request.tags.size(); ++t)
    if (!current[t] || current[t]->digest != root.digest) retag.push_back(request.tags[t]);
  to.put_manifests(retag, root.media_type, root.bytes);
  const auto tagged = to.get_manifests(retag);
  for (std::size_t t = 0; t < retag.size(); ++t)
    if (!tagged[t] || tagged[t]->digest != root.digest)
      throw Error(Exit::verify_failed, "the tag " + retag[t] + " serves " + (tagged[t] ? tagged[t]->digest : "nothing") +
                                           " in the destination, not " + root.digest);
  out.tags_put = static_cast<int>(retag.size());
  for (std::size_t i = 0; i < image_nodes; ++i) out.manifests.push_back(nodes[i].manifest.digest);
  return out;
}

}  // namespace

std::vector<CopyResult> copy_image(RegistryClient& from, const std::vector<CopyDestination>& to, const CopyRequest& request,
                                   const Log& log) {
  std::vector<Node> nodes;
  std::set<std::string> seen;
  read_image(from, request, nodes, seen);
  const auto image_nodes = nodes.size();
  read_referrers(from, request, nodes, seen);
  std::vector<CopyResult> out;
  out.reserve(to.size());
  for (const auto& destination : to) out.push_back(copy_to(from, destination, request, nodes, image_nodes, log));
  return out;
}

}  // namespace mai
