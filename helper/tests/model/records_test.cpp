#include "model/records.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>
#include <csignal>

#include "base/files.hpp"
#include "base/interrupt.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::test_log;

BOOST_AUTO_TEST_SUITE(records)

BOOST_AUTO_TEST_CASE(round_trip_every_kind) {
  mai::test::TempDir dir;
  write_record(dir.path() / "b.json",
               BuildRecord{"hello", "linux/amd64", "docker", "buildkit", "ssh://b", "sha256:1", 4096, {"r:1-amd64"}, 1.5});
  const auto b = read_build_record(dir.path() / "b.json", test_log());
  BOOST_REQUIRE(b);
  BOOST_TEST(b->image_id == "sha256:1");
  BOOST_TEST(b->builder == "ssh://b");
  BOOST_TEST(b->references.at(0) == "r:1-amd64");

  write_record(dir.path() / "p.json",
               PushRecord{"hello", "linux/amd64", "docker", "", "sha256:1", "r", "sha256:2", {"r:1-amd64"}, 2});
  BOOST_TEST(read_push_record(dir.path() / "p.json", test_log())->digest == "sha256:2");

  write_record(dir.path() / "m.json", ManifestRecord{"hello",
                                                     "r",
                                                     {"1"},
                                                     "docker",
                                                     "sha256:3",
                                                     "mt",
                                                     {{"linux/amd64", "sha256:2", "mt2", 700, "sha256:1", "unix:///b.sock"}},
                                                     3});
  const auto m = read_manifest_record(dir.path() / "m.json", test_log());
  BOOST_REQUIRE(m);
  BOOST_TEST(m->platforms.at(0).size == 700);
  BOOST_TEST(m->index_digest == "sha256:3");
  BOOST_TEST(m->platforms.at(0).builder == "unix:///b.sock");
}

BOOST_AUTO_TEST_CASE(debug_symbols_are_recorded_when_published_and_absent_otherwise) {
  mai::test::TempDir dir;
  PushRecord pushed{"hello", "linux/arm64", "none", "", "sha256:1", "r", "sha256:2", {"r:1-arm64"}, 2};
  write_record(dir.path() / "none.json", pushed);
  BOOST_TEST(read_text_file(dir.path() / "none.json").find("debug_symbols") == std::string::npos);
  BOOST_TEST(read_push_record(dir.path() / "none.json", test_log())->debug_symbols.artifact.empty());
  pushed.debug_symbols = {"sha256:4", "sha256:5", 10240, {{"/usr/local/bin/hello", "0123abcd"}}};
  write_record(dir.path() / "p.json", pushed);
  const auto p = read_push_record(dir.path() / "p.json", test_log());
  BOOST_REQUIRE(p);
  BOOST_TEST(p->debug_symbols.artifact == "sha256:4");
  BOOST_TEST(p->debug_symbols.archive == "sha256:5");
  BOOST_TEST(p->debug_symbols.size == 10240);
  BOOST_REQUIRE(p->debug_symbols.files.size() == 1U);
  BOOST_TEST(p->debug_symbols.files[0].build_id == "0123abcd");
  BOOST_TEST(
      read_text_file(dir.path() / "p.json").find("\"artifact_type\":\"application/vnd.multiarch-image.debug-symbols.v1+tar\"") !=
      std::string::npos);
  PlatformEntry entry{"linux/arm64", "sha256:2", "mt", 700, "sha256:1", ""};
  entry.debug_symbols = pushed.debug_symbols;
  write_record(dir.path() / "m.json", ManifestRecord{"hello", "r", {"1"}, "none", "sha256:3", "mt", {entry}, 3});
  const auto m = read_manifest_record(dir.path() / "m.json", test_log());
  BOOST_REQUIRE(m);
  BOOST_TEST(m->platforms.at(0).debug_symbols.files.at(0).path == "/usr/local/bin/hello");
}

BOOST_AUTO_TEST_CASE(missing_corrupt_or_foreign_records_read_as_absent) {
  mai::test::TempDir dir;
  BOOST_TEST(!read_build_record(dir.path() / "none.json", test_log()));
  BOOST_TEST(!read_build_record(dir.file("corrupt.json", "{\"format\": 1, \"kind\": \"bu"), test_log()));
  BOOST_TEST(!read_build_record(dir.file("future.json", R"({"format": 2, "kind": "build"})"), test_log()));
  write_record(dir.path() / "p.json", PushRecord{"hello", "linux/amd64", "docker", "", "i", "r", "d", {}, 0});
  BOOST_TEST(!read_build_record(dir.path() / "p.json", test_log()));  // a push record is not a build record
}

BOOST_AUTO_TEST_CASE(writing_leaves_no_temporary_file) {
  mai::test::TempDir dir;
  write_record(dir.path() / "b.json", BuildRecord{});
  std::size_t files = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++files;
  BOOST_TEST(files == 1u);
}

// An engine may finish its work after the helper was told to stop: the step must still claim nothing.
// In a child process, because a signal, once it arrived, stays with the process.
BOOST_AUTO_TEST_CASE(no_record_is_written_once_a_signal_arrived) {
  mai::test::TempDir dir;
  const auto path = dir.path() / "push-linux-amd64.json";
  const PushRecord record{"hello", "linux/amd64", "docker", "", "sha256:1", "r", "sha256:2", {"r:1-amd64"}, 2};
  const pid_t child = ::fork();
  BOOST_REQUIRE(child >= 0);
  if (child == 0) {
    install_interrupt_handlers();
    ::raise(SIGTERM);
    int outcome = 1;  // written
    try {
      write_record(path, record);
    } catch (const Error& e) {
      outcome = e.code() == Exit::interrupted ? 0 : 2;
    } catch (...) {
      outcome = 3;
    }
    ::_exit(outcome);
  }
  int status = 0;
  BOOST_REQUIRE(::waitpid(child, &status, 0) == child);
  BOOST_TEST(WIFEXITED(status));
  BOOST_TEST(WEXITSTATUS(status) == 0, "outcome "
                                           << WEXITSTATUS(status)
                                           << " (0: refused as interrupted; 1: written; 2: another error; 3: another exception)");
  BOOST_TEST(!std::filesystem::exists(path));
  write_record(path, record);  // here, with no signal, the same record is written
  BOOST_TEST(std::filesystem::exists(path));
}

// Found by the records fuzz target: a duration too large for a double read as infinity, which no JSON
// can hold, so the record written back did not read. Such a record is malformed: absent, as a corrupt one.
BOOST_AUTO_TEST_CASE(a_record_whose_seconds_are_not_finite_is_absent) {
  mai::test::TempDir dir;
  const auto record =
      dir.file("b.json", R"({"format":1,"kind":"build","name":"hello","platform":"linux/arm64","engine":"podman",)"
                         R"("method":"podman","builder":"","image_id":"sha256:0f","image_size":1,"references":[],)"
                         R"("seconds":2.21529E03814})");
  BOOST_TEST(!read_build_record(record, test_log()));
}

BOOST_AUTO_TEST_SUITE_END()
