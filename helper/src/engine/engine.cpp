#include "engine/engine.hpp"

#include "base/error.hpp"
#include "base/retry.hpp"

namespace mai {

bool is_engine_url(const std::string& builder) {
  for (const char* scheme : {"unix://", "tcp://", "ssh://", "npipe://"})
    if (builder.starts_with(scheme)) return true;
  return false;
}

Pull pull_policy(std::string_view pull) {
  if (pull == "always") return Pull::always;
  if (pull == "missing") return Pull::missing;
  if (pull == "never") return Pull::never;
  return Pull::engine_default;
}

std::vector<std::string> names_in_push_output(const std::string& reference) {
  try {
    const auto r = parse_image_reference(reference);
    return {r.repository.str(), r.repository.registry, r.repository.path, r.tag};
  } catch (const Error&) {
    return {reference};
  }
}

void refuse_on_registry_limit(const Result& push, const std::string& engine, const std::string& reference) {
  // The engine's output names the repository ("The push refers to repository [...]", podman its path
  // alone) and the tag, whose own names may hold any of the words: they say nothing about why the push
  // failed.
  const auto said = without_names(push.tail, names_in_push_output(reference));
  const auto colon = reference.rfind(':');
  const bool tagged = colon != std::string::npos && reference.find('/', colon) == std::string::npos;
  const auto tag = tagged ? reference.substr(colon + 1) : std::string("latest");
  const auto refused = [&](const std::string& limit, const std::string& what_works) {
    return Error(Exit::step_failed, engine + " push " + reference + " was refused (exit " + std::to_string(push.exit_code) +
                                        "): " + limit + ". " + what_works + "\n--- last output ---\n" + push.tail);
  };
  const std::string assembled =
      "the helper's own registry client can publish there: have it assemble the image (BASE; docs/assembled.md)";
  if (immutable_tag_refusal(said))
    throw refused("the registry keeps the tag " + tag +
                      " for what it holds, its tags are immutable (ECR's tag immutability, Harbor's immutable tag rules, "
                      "Docker Hub's immutable tags, GitLab's protected tags)",
                  "An image " + engine +
                      " builds from a Dockerfile is pushed under its per-platform tags <tag>-<arch>, which every changed "
                      "build rewrites: give every publish TAGS of its own (a version, GIT_TAGS), or have the helper "
                      "assemble the image (BASE) and set PLATFORM_TAGS OFF to publish each platform by digest only.");
  switch (registry_limit(said)) {
    case RegistryLimit::method_refused:
      throw refused(
          "the registry, or a proxy before it, answered a request of the push 405 Method Not Allowed, which docker and "
          "podman both send (a HEAD, or the PATCH of an upload in chunks, where a registry or proxy refuses those; a "
          "repository that is read-only refuses every write)",
          "Where HEAD or PATCH is what is refused, " + assembled +
              ": it asks with GET where HEAD is refused and sends blobs whole where PATCH is.");
    case RegistryLimit::no_chunked_uploads:
      throw refused(
          "the registry takes no upload in chunks (it refused a PATCH: the blob must come whole), and docker and podman "
          "both upload layers in chunks",
          "Instead, " + assembled + ": it sends every blob whole after the first refusal.");
    case RegistryLimit::no_digest_header:
      throw refused(
          "the registry's answers lack the Docker-Content-Digest header (or carry one docker cannot read), which "
          "docker's push needs",
          "Podman's push does without it (ENGINE podman), and so does the helper's own client (BASE; "
          "docs/assembled.md).");
    case RegistryLimit::none:
      break;
  }
}

}  // namespace mai
