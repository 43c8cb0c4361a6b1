#include "stage/elf.hpp"

#include <sys/stat.h>

#include <boost/test/unit_test.hpp>
#include <thread>

#include "base/error.hpp"
#include "support/elf_builder.hpp"
#include "support/test_support.hpp"

using namespace mai;
using mai::test::code_of;
using mai::test::error_of;
using mai::test::test_log;
namespace fs = std::filesystem;
using mai::test::ElfBuilder;
using mai::test::self;

namespace {

// A minimal 32-bit big-endian ELF (as for a MIPS or PowerPC target): PT_LOAD over the whole file,
// PT_INTERP, and PT_DYNAMIC with DT_STRTAB, two DT_NEEDED and a DT_RUNPATH.
std::string big_endian_elf32() {
  std::string f(0x200, '\0');
  auto put = [&](std::size_t at, std::uint64_t v, int size) {
    for (int i = 0; i < size; ++i) f[at + i] = static_cast<char>((v >> (8 * (size - 1 - i))) & 0xff);
  };
  f.replace(0, 4,
            "\x7f"
            "ELF");
  f[4] = 1;  // ELFCLASS32
  f[5] = 2;  // ELFDATA2MSB
  f[6] = 1;
  put(16, 2, 2);     // ET_EXEC
  put(18, 8, 2);     // EM_MIPS
  put(28, 0x34, 4);  // e_phoff
  put(42, 32, 2);    // e_phentsize
  put(44, 3, 2);     // e_phnum
  auto phdr = [&](int i, std::uint32_t type, std::uint32_t offset, std::uint32_t size) {
    const std::size_t p = 0x34 + i * 32;
    put(p, type, 4);
    put(p + 4, offset, 4);
    put(p + 8, 0x1000 + offset, 4);  // vaddr: the file mapped at 0x1000
    put(p + 16, size, 4);
  };
  phdr(0, 1, 0, 0x200);     // PT_LOAD
  phdr(1, 3, 0x100, 0x14);  // PT_INTERP
  phdr(2, 2, 0xa0, 0x30);   // PT_DYNAMIC
  const std::string strings = std::string("\0libfoo.so.1\0libc.so.6\0$ORIGIN/../lib:/opt/x\0", 45);
  f.replace(0x180, strings.size(), strings);
  const std::uint32_t dyn[][2] = {{5, 0x1180}, {1, 1}, {1, 13}, {29, 23}, {0, 0}};
  for (int i = 0; i < 5; ++i) {
    put(0xa0 + i * 8, dyn[i][0], 4);
    put(0xa0 + i * 8 + 4, dyn[i][1], 4);
  }
  f.replace(0x100, 19, "/lib/ld.so.1\0\0\0\0\0\0\0", 19);
  return f;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(elf)

BOOST_AUTO_TEST_CASE(the_host_binary_names_its_loader_and_libraries) {
  const auto info = read_elf(self());
  BOOST_REQUIRE(info);
  BOOST_TEST(info->elf_class == 2);
  BOOST_TEST(info->machine == 62);
  BOOST_TEST(info->interpreter == "/lib64/ld-linux-x86-64.so.2");
  BOOST_TEST((std::find(info->needed.begin(), info->needed.end(), "libc.so.6") != info->needed.end()));
  BOOST_TEST(elf_machine_name(183) == "AArch64");
}

BOOST_AUTO_TEST_CASE(a_32_bit_big_endian_file_is_read_through_its_program_headers) {
  mai::test::TempDir dir;
  const auto file = dir.file("mips", big_endian_elf32());
  const auto info = read_elf(file);
  BOOST_REQUIRE(info);
  BOOST_TEST(info->elf_class == 1);
  BOOST_TEST(info->machine == 8);
  BOOST_TEST(info->interpreter == "/lib/ld.so.1");
  BOOST_TEST((info->needed == std::vector<std::string>{"libfoo.so.1", "libc.so.6"}));
  BOOST_TEST((info->search_path == std::vector<std::string>{"$ORIGIN/../lib", "/opt/x"}));
}

BOOST_AUTO_TEST_CASE(non_elf_is_none_and_truncated_elf_is_an_error) {
  mai::test::TempDir dir;
  BOOST_TEST(!read_elf(dir.file("script", "#!/bin/sh\necho hi\n")));
  const auto truncated = dir.file("cut", big_endian_elf32().substr(0, 0x40));
  BOOST_CHECK_THROW(read_elf(truncated), Error);
}

BOOST_AUTO_TEST_CASE(offsets_that_wrap_around_are_refused_not_read) {
  // e_phoff = 2^64 - 2: `offset + size` wrapped to a small number and the read went before the buffer.
  auto elf = ElfBuilder{}.build();
  elf.put(32, 0xfffffffffffffffeULL, 8);
  BOOST_TEST((code_of([&] { parse_elf(elf.bytes, "phoff"); }) == Exit::invalid_input));
  // A DT_NEEDED string offset far past the end.
  auto needed = ElfBuilder{};
  needed.needed = {"libx.so"};
  needed.build();
  needed.put(ElfBuilder::dynamic_at + 16 + 8, 0xfffffffffffffff0ULL, 8);
  BOOST_TEST((code_of([&] { parse_elf(needed.bytes, "needed"); }) == Exit::invalid_input));
  // A dynamic segment larger than the file.
  auto dynamic = ElfBuilder{}.build();
  dynamic.put(64 + 56 + 32, 0xffffffffffffff00ULL, 8);
  BOOST_TEST((code_of([&] { parse_elf(dynamic.bytes, "dynamic"); }) == Exit::invalid_input));
  // A string that runs to the end of the file without its NUL.
  auto unterminated = ElfBuilder{};
  unterminated.interpreter = "/lib/ld.so";
  unterminated.build();
  std::fill(unterminated.bytes.begin() + ElfBuilder::interp_at, unterminated.bytes.end(), 'x');
  BOOST_TEST((code_of([&] { parse_elf(unterminated.bytes, "interp"); }) == Exit::invalid_input));
  // Program headers smaller than the format's.
  auto small = ElfBuilder{}.build();
  small.put(54, 8, 2);
  BOOST_TEST((code_of([&] { parse_elf(small.bytes, "phentsize"); }) == Exit::invalid_input));
}

BOOST_AUTO_TEST_CASE(pn_xnum_takes_the_header_count_from_section_zero) {
  auto elf = ElfBuilder{};
  elf.needed = {"libx.so.1"};
  elf.build();
  elf.put(56, 0xffff, 2);     // e_phnum = PN_XNUM
  elf.put(40, 0x380, 8);      // e_shoff: section header 0
  elf.put(0x380 + 44, 2, 4);  // its sh_info: the real count
  const auto info = parse_elf(elf.bytes, "xnum");
  BOOST_REQUIRE(info);
  BOOST_TEST((info->needed == std::vector<std::string>{"libx.so.1"}));
  elf.put(0x380 + 44, 0xffffffff, 4);  // four billion headers in a 1 KiB file: refused at once
  BOOST_TEST((code_of([&] { parse_elf(elf.bytes, "xnum"); }) == Exit::invalid_input));
}

BOOST_AUTO_TEST_CASE(the_magic_is_checked_before_the_file_is_read) {
  // A pipe whose writer stays open: reading the whole "file" would wait for its end.
  mai::test::TempDir dir;
  const auto fifo = dir.path() / "fifo";
  BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::atomic<bool> returned{false}, closed_first{false};
  std::thread writer([&] {
    std::ofstream out(fifo, std::ios::binary);
    out << "not an ELF file" << std::flush;
    for (int i = 0; i < 100 && !returned; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    closed_first = !returned;
  });
  BOOST_TEST(!read_elf(fifo));
  returned = true;
  writer.join();
  BOOST_TEST(!closed_first);
}

BOOST_AUTO_TEST_CASE(a_run_path_is_rewritten_in_place_or_removed_and_nothing_else_changes) {
  for (const bool big : {false, true}) {
    for (const bool wide : {false, true}) {
      ElfBuilder b;
      b.big = big;
      b.wide = wide;
      b.needed = {"libgreet.so", "libc.so.6"};
      b.runpath = "/tmp/build/tree:/tmp/build/tree/lib";
      b.build();
      const auto info = parse_elf(b.bytes, "app");
      BOOST_REQUIRE(info);
      const auto replaced = with_run_path(b.bytes, *info, "$ORIGIN/../lib", "app");
      BOOST_TEST(replaced.size() == b.bytes.size());
      BOOST_TEST((parse_elf(replaced, "app")->search_path == std::vector<std::string>{"$ORIGIN/../lib"}));
      BOOST_TEST(replaced.find("/tmp/build") == std::string::npos);
      std::size_t differing = 0;
      for (std::size_t i = 0; i < replaced.size(); ++i) differing += replaced[i] != b.bytes[i];
      BOOST_TEST(differing <= b.runpath.size());  // the string's bytes only

      const auto removed = with_run_path(b.bytes, *info, "", "app");
      const auto after = parse_elf(removed, "app");
      BOOST_TEST(after->run_paths.empty());
      BOOST_TEST(after->search_path.empty());
      BOOST_TEST((after->needed == info->needed));
      BOOST_TEST(removed.find("/tmp/build") == std::string::npos);
      BOOST_TEST(removed.substr(0, ElfBuilder::dynamic_at) == b.bytes.substr(0, ElfBuilder::dynamic_at));

      BOOST_TEST(error_of([&] {
                   with_run_path(b.bytes, *info, std::string(200, 'x'), "app");
                 }).find("app: its INSTALL_RPATH `xxx") != std::string::npos);
    }
  }
}

// Found by fuzzing (tests/fuzz/seeds/elf/regression-two-dynamic-segments): the run-path entries came
// from one dynamic segment and the end of the dynamic array from another, and removing the run path
// copied a range that ran backwards through the heap.
BOOST_AUTO_TEST_CASE(a_file_with_two_dynamic_segments_is_refused) {
  ElfBuilder b;
  b.needed = {"libc.so.6"};
  b.runpath = "/build/lib";
  b.build();
  b.put(56, 3, 2);                                // e_phnum: a third program header,
  b.phdr(2, 2, ElfBuilder::dynamic_at - 16, 16);  // a second PT_DYNAMIC: one DT_NULL just before the first
  const auto what = error_of([&] {
    const auto info = parse_elf(b.bytes, "two.so");
    if (info) with_run_path(b.bytes, *info, "", "two.so");
  });
  BOOST_TEST(what == "two.so has more than one dynamic segment");
}

// Found by fuzzing (tests/fuzz/seeds/elf_run_path/regression-interpreter-in-the-run-path): PT_INTERP
// pointed into the run path's string, which the rewrite then zeroed: the staged program would have
// named another loader than the one staged for it. A run path sharing a byte, from either side, with
// any string the reader reports (DT_NEEDED, DT_SONAME, PT_INTERP) is not written over (an error) nor
// zeroed (its entry alone is removed).
BOOST_AUTO_TEST_CASE(a_run_path_sharing_bytes_with_any_other_string_is_left_as_it_is) {
  ElfBuilder b;
  b.needed = {"libc.so.6"};
  b.runpath = "/build/lib/ld-linux.so.2";
  b.interpreter = "/lib/ld-linux.so.2";
  b.build();
  // PT_INTERP at the run path's tail ("\0libc.so.6\0" comes first in the strings, then "/build").
  b.phdr(2, 3, ElfBuilder::strings_at + 11 + 6, b.interpreter.size() + 1);
  const auto info = parse_elf(b.bytes, "app");
  BOOST_REQUIRE(info);
  BOOST_TEST(info->interpreter == "/lib/ld-linux.so.2");
  BOOST_TEST(error_of([&] { with_run_path(b.bytes, *info, "/opt", "app"); }) ==
             "app: its run path shares bytes with another string of the file");
  const auto removed = parse_elf(with_run_path(b.bytes, *info, "", "app"), "app");
  BOOST_TEST(removed->interpreter == "/lib/ld-linux.so.2");
  BOOST_TEST(removed->run_paths.empty());

  // A DT_NEEDED name whose tail is the run path (a linker may merge string tails that way).
  ElfBuilder tail;
  tail.needed = {"/build/lib"};
  tail.runpath = "x";
  tail.build();
  tail.put(ElfBuilder::dynamic_at + 2 * 2 * 8 + 8, 1 + 9, 8);  // DT_RUNPATH's value: the "b" of "lib"
  const auto tail_info = parse_elf(tail.bytes, "tail");
  BOOST_REQUIRE(tail_info);
  BOOST_TEST(tail_info->search_path == std::vector<std::string>{"b"});
  BOOST_TEST(error_of([&] { with_run_path(tail.bytes, *tail_info, "a", "tail"); }) ==
             "tail: its run path shares bytes with another string of the file");
  BOOST_TEST(parse_elf(with_run_path(tail.bytes, *tail_info, "", "tail"), "tail")->needed ==
             std::vector<std::string>{"/build/lib"});
}

// Found by fuzzing (tests/fuzz/seeds/elf_run_path/regression-a-name-inside-the-dynamic-array): a
// DT_NEEDED name that lies in the dynamic array changed when the run-path entry was removed from the
// array. Whatever a rewrite would change besides the run path is found by reading the result again.
BOOST_AUTO_TEST_CASE(a_rewrite_that_would_change_anything_else_the_file_states_is_refused) {
  ElfBuilder b;
  b.needed = {"libc.so.6"};
  b.runpath = "/build";
  b.build();
  b.put(ElfBuilder::dynamic_at + 8, 0x1000 + ElfBuilder::dynamic_at, 8);  // DT_STRTAB: the dynamic array itself
  b.put(ElfBuilder::dynamic_at + 24, 32, 8);                              // DT_NEEDED: the DT_RUNPATH entry's first bytes, "\x1d"
  b.put(ElfBuilder::dynamic_at + 40, ElfBuilder::strings_at - ElfBuilder::dynamic_at + 11, 8);  // DT_RUNPATH: "/build"
  const auto info = parse_elf(b.bytes, "app");
  BOOST_REQUIRE(info);
  BOOST_TEST(info->needed == std::vector<std::string>{"\x1d"});
  BOOST_TEST(info->search_path == std::vector<std::string>{"/build"});
  BOOST_TEST(error_of([&] { with_run_path(b.bytes, *info, "", "app"); }) ==
             "app: its run path cannot be changed without changing other parts of the file (its strings, dynamic "
             "array or headers overlap)");
}

BOOST_AUTO_TEST_SUITE_END()
