#include "steps/steps.hpp"

#include <boost/test/unit_test.hpp>

#include "base/digest.hpp"
#include "base/error.hpp"
#include "base/files.hpp"
#include "base/json_file.hpp"
#include "base/scratch.hpp"
#include "model/records.hpp"
#include "oci/index.hpp"
#include "oci/media_types.hpp"
#include "registry/client.hpp"
#include "support/fake_registry.hpp"
#include "support/fake_runner.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::FakeRunner;
using mai::test::test_log;

namespace {

struct Fixture {
  mai::test::TempDir dir;
  Spec spec;
  FakeRunner runner;
  std::filesystem::path state;

  Fixture() {
    dir.file("ctx/Dockerfile", "FROM scratch\n");
    dir.file("ctx/file.txt", "x");
    spec = mai::test::make_spec(dir.path() / "ctx");
    state = dir.path() / "state";
    runner.on({"buildx", "version"}, {1, "", ""});
    runner.on({"version", "--format", "{{.Client.Version}}"}, {0, "20.10.24\n", ""});
    runner.on({"build"}, {}, [](const Command& c) { FakeRunner::write(FakeRunner::value_of(c, "--iidfile"), "sha256:abc"); });
    runner.on({"image", "inspect"}, {0, "linux/amd64 4096\n", ""});
  }
  std::size_t count(const std::string& verb, const std::string& flag = "") const {
    std::size_t n = 0;
    for (const auto& c : runner.commands)
      n += c.argv.at(1) == verb && (flag.empty() || std::count(c.argv.begin(), c.argv.end(), flag));
    return n;
  }
  std::filesystem::path build_record() const { return state / "build-linux-amd64.json"; }
};

std::string error_of(auto f, Exit expected) {
  try {
    f();
  } catch (const Error& e) {
    BOOST_TEST(static_cast<int>(e.code()) == static_cast<int>(expected));
    return e.what();
  }
  BOOST_FAIL("no error");
  return "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(stages)

BOOST_FIXTURE_TEST_CASE(build_writes_its_record_and_a_depfile_of_the_context, Fixture) {
  build_step(spec, spec.platforms[0], build_record(), state / "build.d", runner, test_log());
  const auto record = read_build_record(build_record(), test_log());
  BOOST_REQUIRE(record);
  BOOST_TEST(record->image_id == "sha256:abc");
  BOOST_TEST(record->engine == "docker");
  BOOST_TEST(record->references.size() == 2u);
  BOOST_TEST(record->references[0] == "127.0.0.1:5000/demo/hello:1.0-amd64");
  BOOST_TEST(record->references[1] == "127.0.0.1:5000/demo/hello:latest-amd64");
  const auto depfile = read_text_file(state / "build.d");
  BOOST_TEST(depfile.starts_with(build_record().string() + ":"));
  BOOST_TEST(depfile.find("ctx/file.txt") != std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(an_image_of_the_wrong_platform_is_built_again_without_the_cache, Fixture) {
  int inspections = 0;
  runner.rules.insert(runner.rules.begin(), FakeRunner::Rule{{"image", "inspect"}, {0, "linux/arm64 1\n", ""}, {}});
  runner.rules.front().effect = [&](const Command&) {
    if (++inspections == 2) runner.rules.front().result.out = "linux/amd64 1\n";
  };
  build_step(spec, spec.platforms[0], build_record(), state / "build.d", runner, test_log());
  BOOST_TEST(count("build") == 2u);
  BOOST_TEST(count("build", "--no-cache") == 1u);
  BOOST_TEST(std::filesystem::exists(build_record()));
}

BOOST_FIXTURE_TEST_CASE(an_image_of_the_wrong_platform_even_without_cache_fails_with_no_record, Fixture) {
  runner.rules.insert(runner.rules.begin(), FakeRunner::Rule{{"image", "inspect"}, {0, "linux/arm64 1\n", ""}, {}});
  const auto what = error_of([&] { build_step(spec, spec.platforms[0], build_record(), state / "build.d", runner, test_log()); },
                             Exit::step_failed);
  BOOST_TEST(what.find("built a linux/arm64 image for linux/amd64") != std::string::npos);
  BOOST_TEST(!std::filesystem::exists(build_record()));
}

BOOST_FIXTURE_TEST_CASE(a_failed_build_leaves_no_record_not_even_the_old_one, Fixture) {
  build_step(spec, spec.platforms[0], build_record(), state / "build.d", runner, test_log());
  BOOST_REQUIRE(std::filesystem::exists(build_record()));
  runner.rules.insert(runner.rules.begin(), FakeRunner::Rule{{"build"}, {1, "", "ERROR: failed to solve"}, {}});
  const auto what = error_of([&] { build_step(spec, spec.platforms[0], build_record(), state / "build.d", runner, test_log()); },
                             Exit::step_failed);
  BOOST_TEST(what.find("docker build for linux/amd64 failed (exit 1)") != std::string::npos);
  BOOST_TEST(what.find("ERROR: failed to solve") != std::string::npos);
  BOOST_TEST(!std::filesystem::exists(build_record()));
}

// SECRETS whose value is not where the spec says: no engine build, no record, and a message naming
// the secret and its variable or file (never a value; the spec holds none).
BOOST_FIXTURE_TEST_CASE(a_secret_whose_variable_or_file_is_missing_stops_the_build_before_the_engine, Fixture) {
  build_step(spec, spec.platforms[0], build_record(), state / "build.d", runner, test_log());
  BOOST_REQUIRE(std::filesystem::exists(build_record()));
  const auto builds = count("build");
  ::unsetenv("MAI_TEST_UNSET_SECRET");
  spec.build_options.secrets = {{"npm", "MAI_TEST_UNSET_SECRET", {}}};
  auto what = error_of([&] { build_step(spec, spec.platforms[0], build_record(), state / "build.d", runner, test_log()); },
                       Exit::invalid_input);
  BOOST_TEST(what.find("build secret `npm`: the environment variable MAI_TEST_UNSET_SECRET is not set") != std::string::npos,
             what);
  spec.build_options.secrets = {{"key", "", dir.path() / "no-such-file"}};
  what = error_of([&] { build_step(spec, spec.platforms[0], build_record(), state / "build.d", runner, test_log()); },
                  Exit::invalid_input);
  BOOST_TEST(what.find("build secret `key`: the file " + (dir.path() / "no-such-file").string() + " does not exist") !=
                 std::string::npos,
             what);
  BOOST_TEST(count("build") == builds);
  BOOST_TEST(!std::filesystem::exists(build_record()));
}

BOOST_FIXTURE_TEST_CASE(push_with_a_corrupt_build_record_builds_the_platform_again, Fixture) {
  dir.file("state/build-linux-amd64.json", "{ corrupt");
  runner.on({"push"}, {0, "", "x: digest: sha256:" + std::string(64, 'e') + " size: 1"});
  push_step(spec, spec.platforms[0], build_record(), state / "push.json", runner, test_log());
  BOOST_TEST(count("build") == 1u);
  BOOST_TEST(read_build_record(build_record(), test_log()).has_value());
  BOOST_TEST(read_push_record(state / "push.json", test_log()).has_value());
}

BOOST_FIXTURE_TEST_CASE(push_of_an_image_removed_from_the_engine_builds_it_again, Fixture) {
  build_step(spec, spec.platforms[0], build_record(), state / "build.d", runner, test_log());
  runner.commands.clear();
  // `image inspect --format {{.Id}}` answers "No such image" once, then the rebuilt image exists.
  int inspections = 0;
  runner.rules.insert(runner.rules.begin(),
                      FakeRunner::Rule{{"image", "inspect", "--format", "{{.Id}}"}, {1, "", "No such image"}, {}});
  runner.rules.front().effect = [&](const Command&) { runner.rules.front().result.exit_code = ++inspections == 1 ? 1 : 0; };
  runner.on({"push"}, {0, "", "x: digest: sha256:" + std::string(64, 'e') + " size: 1"});
  push_step(spec, spec.platforms[0], build_record(), state / "push.json", runner, test_log());
  BOOST_TEST(count("build") == 1u);
  BOOST_TEST(count("push") == 2u);
}

BOOST_FIXTURE_TEST_CASE(push_records_the_digest_of_every_per_platform_tag, Fixture) {
  build_step(spec, spec.platforms[0], build_record(), state / "build.d", runner, test_log());
  runner.on({"push"}, {0, "", "x: digest: sha256:" + std::string(64, 'e') + " size: 1"});
  push_step(spec, spec.platforms[0], build_record(), state / "push.json", runner, test_log());
  const auto record = read_push_record(state / "push.json", test_log());
  BOOST_REQUIRE(record);
  BOOST_TEST(record->digest == "sha256:" + std::string(64, 'e'));
  std::size_t pushes = 0;
  for (const auto& c : runner.commands) pushes += c.argv.at(1) == "push";
  BOOST_TEST(pushes == 2u);  // one per tag
}

// plan's scratch directory lives under /tmp, where another user may have prepared a guessable name.
BOOST_AUTO_TEST_CASE(plan_scratch_directories_are_private_and_unpredictable) {
  std::filesystem::path first_path;
  {
    const auto first = ScratchDir::temporary("multiarch-plan-hello");
    const auto second = ScratchDir::temporary("multiarch-plan-hello");
    first_path = first.path();
    BOOST_TEST(first.path() != second.path());
    BOOST_TEST(first.path().parent_path() == std::filesystem::temp_directory_path());
    BOOST_TEST(first.path().filename().string().find(std::to_string(::getpid())) == std::string::npos);
    BOOST_TEST((std::filesystem::status(first.path()).permissions() == std::filesystem::perms::owner_all));
  }
  BOOST_TEST(!std::filesystem::exists(first_path));
}

// Two platforms pushed to the fake registry, with their push records.
struct PushedFixture : Fixture {
  mai::test::FakeRegistry registry;
  std::string amd64, armv7;
  std::vector<std::filesystem::path> records{state / "push-linux-amd64.json", state / "push-linux-arm-v7.json"};
  PushedFixture() {
    registry.host = "127.0.0.1";
    registry.port = "5000";
    amd64 = registry.put_image("demo/hello", "linux", "amd64");
    armv7 = registry.put_image("demo/hello", "linux", "arm", "v7");
    write_record(records[0], PushRecord{"hello", "linux/amd64", "docker", "", "i1", spec.repository.str(), amd64, {}, 0});
    write_record(records[1], PushRecord{"hello", "linux/arm/v7", "docker", "", "i2", spec.repository.str(), armv7, {}, 0});
    spec.retry.delay = std::chrono::milliseconds(0);
  }
  std::string served(const std::string& tag) { return registry.manifests.at("demo/hello:" + tag).bytes; }
};

BOOST_FIXTURE_TEST_CASE(manifest_publishes_by_digest_then_tags_and_runs_no_engine_command, PushedFixture) {
  manifest_step(spec, records, state / "metadata.json", runner, registry, test_log());
  BOOST_TEST(runner.commands.empty());
  const auto index = served(spec.tags.front());
  const auto parsed = parse_index(index);
  BOOST_TEST(parsed.media_type == "application/vnd.docker.distribution.manifest.list.v2+json");  // Docker manifests inside
  BOOST_TEST(parsed.entries.size() == 2u);
  BOOST_TEST(parsed.entries[1].platform == "linux/arm/v7");
  BOOST_TEST(parsed.entries[1].digest == armv7);
  // The digest PUT comes before every tag PUT.
  std::vector<std::string> puts;
  for (const auto& s : registry.log)
    if (s.method == "PUT") puts.push_back(s.url.substr(s.url.rfind('/') + 1));
  BOOST_TEST(puts.size() == 1 + spec.tags.size());
  BOOST_TEST(puts.front() == sha256_digest(index));
  const auto record = read_manifest_record(state / "metadata.json", test_log());
  BOOST_REQUIRE(record);
  BOOST_TEST(record->index_digest == sha256_digest(index));
}

BOOST_FIXTURE_TEST_CASE(manifest_is_a_no_op_when_the_registry_holds_the_same_list, PushedFixture) {
  spec.index_format = "oci";  // with a created annotation, which differs on every run
  manifest_step(spec, records, state / "metadata.json", runner, registry, test_log());
  const auto first = served(spec.tags.front());
  BOOST_TEST(first.find("org.opencontainers.image.created") != std::string::npos);
  registry.log.clear();
  ::setenv("SOURCE_DATE_EPOCH", "1", 1);  // another creation time
  manifest_step(spec, records, state / "metadata.json", runner, registry, test_log());
  ::unsetenv("SOURCE_DATE_EPOCH");
  BOOST_TEST(registry.count("PUT") == 0u);
  BOOST_TEST(served(spec.tags.front()) == first);

  // A changed platform is a new list.
  const auto other = registry.put_image("demo/hello", "linux", "amd64", "", "application/vnd.oci.image.manifest.v1+json");
  write_record(records[0], PushRecord{"hello", "linux/amd64", "docker", "", "i1", spec.repository.str(), other, {}, 0});
  manifest_step(spec, records, state / "metadata.json", runner, registry, test_log());
  BOOST_TEST(registry.count("PUT") == 1 + spec.tags.size());
  BOOST_TEST(parse_index(served(spec.tags.front())).entries.at(0).digest == other);
}

BOOST_FIXTURE_TEST_CASE(manifest_annotations_and_format, PushedFixture) {
  spec.annotations = {{"org.opencontainers.image.source", "https://example.com/hello"},
                      {"org.opencontainers.image.version", "override"}};
  ::setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
  manifest_step(spec, records, state / "metadata.json", runner, registry, test_log());
  ::unsetenv("SOURCE_DATE_EPOCH");
  const auto index = boost::json::parse(served(spec.tags.front())).as_object();
  BOOST_TEST(index.at("mediaType").as_string() == media::oci_index);  // annotations need OCI
  const auto& notes = index.at("annotations").as_object();
  BOOST_TEST(notes.at("org.opencontainers.image.created").as_string() == "2023-11-14T22:13:20Z");
  BOOST_TEST(notes.at("org.opencontainers.image.version").as_string() == "override");
  BOOST_TEST(notes.at("org.opencontainers.image.source").as_string() == "https://example.com/hello");
}

BOOST_FIXTURE_TEST_CASE(manifest_refuses_a_platform_missing_from_the_registry, PushedFixture) {
  registry.manifests.erase("demo/hello@" + armv7);
  const auto what =
      error_of([&] { manifest_step(spec, records, state / "metadata.json", runner, registry, test_log()); }, Exit::step_failed);
  BOOST_TEST(what.find("the manifest of 127.0.0.1:5000/demo/hello@" + armv7 + " (linux/arm/v7) is not in the registry") !=
             std::string::npos);
  BOOST_TEST(registry.count("PUT") == 0u);
  BOOST_TEST(!std::filesystem::exists(state / "metadata.json"));
}

BOOST_FIXTURE_TEST_CASE(manifest_refuses_an_image_whose_config_names_another_platform, PushedFixture) {
  const auto wrong = registry.put_image("demo/hello", "linux", "amd64", "v7");  // podman's leaked layer cache, once
  write_record(records[1], PushRecord{"hello", "linux/arm/v7", "docker", "", "i2", spec.repository.str(), wrong, {}, 0});
  const auto what =
      error_of([&] { manifest_step(spec, records, state / "metadata.json", runner, registry, test_log()); }, Exit::verify_failed);
  BOOST_TEST(what.find("its image config says linux/amd64/v7") != std::string::npos);
  BOOST_TEST(registry.count("PUT") == 0u);
}

BOOST_FIXTURE_TEST_CASE(manifest_fails_verification_and_writes_nothing_when_the_registry_disagrees, PushedFixture) {
  registry.lose_tag_puts = true;
  const auto what =
      error_of([&] { manifest_step(spec, records, state / "metadata.json", runner, registry, test_log()); }, Exit::verify_failed);
  BOOST_TEST(what.find("the registry does not know the tag") != std::string::npos);
  BOOST_TEST(!std::filesystem::exists(state / "metadata.json"));
}

// A merge job: the records of two jobs, as their CI artifacts arrive, in directories of their own.
struct MergeFixture : PushedFixture {
  std::filesystem::path artifacts = dir.path() / "artifacts", out = dir.path() / "merge";
  MergeFixture() {
    std::filesystem::create_directories(artifacts / "records-amd64/hello");
    std::filesystem::create_directories(artifacts / "records-armv7");
    std::filesystem::copy_file(records[0], artifacts / "records-amd64/hello/push-linux-amd64.json");
    std::filesystem::copy_file(records[1], artifacts / "records-armv7/push-linux-arm-v7.json");
    // Another image's record of the same platform, in the same artifact: not this image's.
    std::filesystem::create_directories(artifacts / "records-amd64/other");
    write_record(
        artifacts / "records-amd64/other/push-linux-amd64.json",
        PushRecord{
            "other", "linux/amd64", "docker", "", "i9", "127.0.0.1:5000/demo/other", "sha256:" + std::string(64, '9'), {}, 0});
  }
  std::string merge_error(Exit expected) {
    return error_of(
        [&] { merge_step(spec, {artifacts}, out / "metadata.json", out / "metadata.d", runner, registry, test_log()); },
        expected);
  }
  void refused_with_nothing_published(const std::string& what, const std::string& expected) {
    BOOST_TEST(what.find(expected) != std::string::npos, what);
    BOOST_TEST(registry.count("PUT") == 0u);
    BOOST_TEST(!std::filesystem::exists(out / "metadata.json"));
  }
};

BOOST_FIXTURE_TEST_CASE(merge_publishes_the_digests_of_the_records_found_under_the_directories, MergeFixture) {
  // A later push of arm/v7 (the job run again) is in the registry too: the records decide.
  registry.put_image("demo/hello", "linux", "arm", "v7", "application/vnd.oci.image.manifest.v1+json");
  merge_step(spec, {artifacts}, out / "metadata.json", out / "metadata.d", runner, registry, test_log());
  BOOST_TEST(runner.commands.empty());
  const auto parsed = parse_index(served(spec.tags.front()));
  BOOST_REQUIRE(parsed.entries.size() == 2u);
  BOOST_TEST(parsed.entries[0].digest == amd64);
  BOOST_TEST(parsed.entries[1].digest == armv7);
  const auto record = read_manifest_record(out / "metadata.json", test_log());
  BOOST_REQUIRE(record);
  BOOST_TEST(record->platforms.at(1).digest == armv7);
  const auto depfile = read_text_file(out / "metadata.d");
  BOOST_TEST(depfile.find("records-amd64/hello/push-linux-amd64.json") != std::string::npos);
  BOOST_TEST(depfile.find("records-armv7/push-linux-arm-v7.json") != std::string::npos);
  BOOST_TEST(depfile.find("other") == std::string::npos);
}

BOOST_FIXTURE_TEST_CASE(merge_refuses_a_missing_platform, MergeFixture) {
  std::filesystem::remove_all(artifacts / "records-armv7");
  refused_with_nothing_published(merge_error(Exit::step_failed),
                                 "no push record of hello for linux/arm/v7 in " + artifacts.string());
}

BOOST_FIXTURE_TEST_CASE(merge_refuses_a_record_of_another_repository, MergeFixture) {
  write_record(artifacts / "records-armv7/push-linux-arm-v7.json",
               PushRecord{"hello", "linux/arm/v7", "docker", "", "i2", "127.0.0.1:5000/demo/elsewhere", armv7, {}, 0});
  refused_with_nothing_published(merge_error(Exit::step_failed),
                                 "is a push of hello to 127.0.0.1:5000/demo/elsewhere, but the image's REPOSITORY is");
}

BOOST_FIXTURE_TEST_CASE(merge_refuses_a_platform_the_image_does_not_have, MergeFixture) {
  write_record(artifacts / "records-armv7/push-linux-arm64.json",
               PushRecord{"hello", "linux/arm64", "docker", "", "i3", spec.repository.str(), armv7, {}, 0});
  refused_with_nothing_published(merge_error(Exit::step_failed),
                                 "for linux/arm64, which is not one of its PLATFORMS (valid: linux/amd64, linux/arm/v7)");
}

BOOST_FIXTURE_TEST_CASE(merge_refuses_two_runs_of_one_job, MergeFixture) {
  const auto later = registry.put_image("demo/hello", "linux", "arm", "v7", "application/vnd.oci.image.manifest.v1+json");
  write_record(artifacts / "records-armv7-again/push-linux-arm-v7.json",
               PushRecord{"hello", "linux/arm/v7", "docker", "", "i4", spec.repository.str(), later, {}, 0});
  refused_with_nothing_published(merge_error(Exit::step_failed), "two push records of hello for linux/arm/v7 name other digests");
}

BOOST_FIXTURE_TEST_CASE(merge_refuses_a_digest_the_registry_does_not_hold, MergeFixture) {
  registry.manifests.erase("demo/hello@" + armv7);
  refused_with_nothing_published(merge_error(Exit::step_failed),
                                 "records-armv7/push-linux-arm-v7.json records is not in the registry");
}

BOOST_FIXTURE_TEST_CASE(merge_refuses_a_directory_that_is_not_there, MergeFixture) {
  const auto what = error_of(
      [&] {
        merge_step(spec, {dir.path() / "nowhere"}, out / "metadata.json", out / "metadata.d", runner, registry, test_log());
      },
      Exit::usage);
  BOOST_TEST(what.find("MULTIARCH_IMAGE_MERGE_RECORDS names " + (dir.path() / "nowhere").string() +
                       ", which is not a directory") != std::string::npos);
}

// What docker 29's containerd store pushes for one platform: an OCI index holding the image and
// BuildKit's provenance, an attestation manifest annotated with the image's digest. Returns the
// index's digest, which `docker push` prints; `attestation` gets the attestation manifest's.
std::string push_with_provenance(mai::test::FakeRegistry& registry, const std::string& image, const std::string& arch,
                                 const std::string& variant, std::string& attestation) {
  const auto statement = registry.put_blob(R"({"_type":"https://in-toto.io/Statement/v0.1","subject":[]})");
  const auto config = registry.put_blob(R"({"architecture":"unknown","os":"unknown","rootfs":{"type":"layers","diff_ids":[]}})");
  const auto manifest = std::string(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)") +
                        R"("config":{"mediaType":"application/vnd.oci.image.config.v1+json","size":10,"digest":")" + config +
                        R"("},)" + R"("layers":[{"mediaType":"application/vnd.in-toto+json","size":10,"digest":")" + statement +
                        R"(","annotations":{"in-toto.io/predicate-type":"https://slsa.dev/provenance/v0.2"}}]})";
  attestation = registry.put_manifest("demo/hello", "", media::oci_manifest, manifest);
  const auto image_size = registry.manifests.at("demo/hello@" + image).bytes.size();
  const auto index =
      std::string(R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[)") +
      R"({"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":")" + image + R"(","size":)" +
      std::to_string(image_size) + R"(,"platform":{"architecture":")" + arch + R"(","os":"linux")" +
      (variant.empty() ? "" : R"(,"variant":")" + variant + R"(")") + "}}," +
      R"({"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" + attestation + R"(","size":)" +
      std::to_string(manifest.size()) + R"(,"annotations":{"vnd.docker.reference.digest":")" + image +
      R"(","vnd.docker.reference.type":"attestation-manifest"},"platform":{"architecture":"unknown","os":"unknown"}}]})";
  return registry.put_manifest("demo/hello", "1.0-" + arch + variant, media::oci_index, index);
}

BOOST_FIXTURE_TEST_CASE(manifest_lists_each_image_with_the_attestations_its_push_made, PushedFixture) {
  std::string attestation;
  const auto pushed = push_with_provenance(registry, armv7, "arm", "v7", attestation);
  write_record(records[1], PushRecord{"hello", "linux/arm/v7", "docker", "", "i2", spec.repository.str(), pushed, {}, 0});
  manifest_step(spec, records, state / "metadata.json", runner, registry, test_log());

  const auto index = parse_index(served(spec.tags.front()));
  BOOST_TEST(index.media_type == media::oci_index);  // annotations tie the attestation to its image
  BOOST_REQUIRE(index.entries.size() == 3u);
  BOOST_TEST(index.entries[0].digest == amd64);
  BOOST_TEST(index.entries[1].digest == armv7);  // the image, not the index the push made
  BOOST_TEST(index.entries[2].digest == attestation);
  BOOST_TEST(index.entries[2].platform == "unknown/unknown");
  BOOST_TEST(is_attestation_for(index.entries[2], armv7));

  const auto record = read_manifest_record(state / "metadata.json", test_log());
  BOOST_REQUIRE(record);
  BOOST_TEST(record->platforms[1].digest == armv7);
  BOOST_TEST(record->platforms[1].pushed_digest == pushed);
  BOOST_TEST((record->platforms[1].attestations == std::vector<std::string>{attestation}));
  BOOST_TEST(record->platforms[0].attestations.empty());

  // Republishing the same is a no-op.
  registry.log.clear();
  manifest_step(spec, records, state / "metadata.json", runner, registry, test_log());
  BOOST_TEST(registry.count("PUT") == 0u);
}

BOOST_FIXTURE_TEST_CASE(a_docker_list_leaves_attestations_out_and_says_so, PushedFixture) {
  spec.index_format = "docker";
  std::string attestation;
  const auto pushed = push_with_provenance(registry, armv7, "arm", "v7", attestation);
  write_record(records[1], PushRecord{"hello", "linux/arm/v7", "docker", "", "i2", spec.repository.str(), pushed, {}, 0});
  manifest_step(spec, records, state / "metadata.json", runner, registry, test_log());
  const auto index = parse_index(served(spec.tags.front()));
  BOOST_TEST(index.media_type == media::docker_list);
  BOOST_TEST(index.entries.size() == 2u);
  BOOST_TEST(read_manifest_record(state / "metadata.json", test_log())->platforms[1].attestations.empty());
}

// Every check that can fail runs before the first PUT: a per-platform index without the platform's
// image publishes nothing and writes no record.
BOOST_FIXTURE_TEST_CASE(a_pushed_index_without_the_platform_publishes_nothing, PushedFixture) {
  std::string attestation;
  const auto pushed = push_with_provenance(registry, amd64, "amd64", "", attestation);  // an amd64 index pushed as arm/v7
  write_record(records[1], PushRecord{"hello", "linux/arm/v7", "docker", "", "i2", spec.repository.str(), pushed, {}, 0});
  const auto what =
      error_of([&] { manifest_step(spec, records, state / "metadata.json", runner, registry, test_log()); }, Exit::verify_failed);
  BOOST_TEST(what.find("is an index with 0 entries for linux/arm/v7") != std::string::npos, what);
  BOOST_TEST(registry.count("PUT") == 0u);
  BOOST_TEST(!std::filesystem::exists(state / "metadata.json"));
}

BOOST_FIXTURE_TEST_CASE(manifest_pushes_a_platform_whose_push_record_is_unusable, PushedFixture) {
  const auto e = registry.put_image("demo/hello", "linux", "arm", "v7", "application/vnd.oci.image.manifest.v1+json");
  dir.file("state/push-linux-arm-v7.json", "{ corrupt");
  runner.rules.insert(
      runner.rules.begin(),
      FakeRunner::Rule{{"image", "inspect", "--format", "{{.Os}}/{{.Architecture}} {{.Size}}"}, {0, "linux/arm 1\n", ""}, {}});
  runner.on({"push"}, {0, "", "x: digest: " + e + " size: 1"});
  manifest_step(spec, records, state / "metadata.json", runner, registry, test_log());
  BOOST_TEST(count("build") == 1u);  // arm/v7 had no build record either: built, then pushed
  BOOST_TEST(read_push_record(state / "push-linux-arm-v7.json", test_log())->digest == e);
  BOOST_TEST(parse_index(served(spec.tags.front())).entries.at(1).digest == e);
  BOOST_TEST(read_manifest_record(state / "metadata.json", test_log()).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
