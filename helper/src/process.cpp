#include "process.hpp"

#include <boost/process.hpp>
#include <deque>
#include <thread>

#include "console.hpp"
#include "error.hpp"

namespace mai {
namespace bp = boost::process;
namespace {

constexpr std::size_t kTailLines = 30;

class Tail {
 public:
  void add(std::string line) {
    lines_.push_back(std::move(line));
    if (lines_.size() > kTailLines) lines_.pop_front();
  }
  std::string str() const {
    std::string out;
    for (const auto& l : lines_) out += l + "\n";
    return out;
  }

 private:
  std::deque<std::string> lines_;
};

void strip_cr(std::string& line) {
  if (!line.empty() && line.back() == '\r') line.pop_back();
}

boost::filesystem::path find_executable(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  return bp::search_path(name);
}

}  // namespace

Result ProcessRunner::run(const Command& command, Output mode) {
  if (command.argv.empty()) throw Error(Exit::usage, "internal: empty command");
  const auto exe = find_executable(command.argv[0]);
  if (exe.empty() || !boost::filesystem::exists(exe))
    throw Error(Exit::engine_missing, "'" + command.argv[0] + "' was not found (PATH or the configured path)");

  std::vector<std::string> args(command.argv.begin() + 1, command.argv.end());
  auto env = boost::this_process::environment();
  bp::environment child_env = env;
  for (const auto& [k, v] : command.env) child_env[k] = v;

  bp::opstream in;
  bp::ipstream out;
  bp::ipstream err;
  Result result;
  Tail tail;
  std::error_code ec;
  bp::child child;
  if (mode == Output::stream) {
    child = bp::child(exe, bp::args(args), child_env, (bp::std_out & bp::std_err) > out, bp::std_in < in, ec);
  } else {
    child = bp::child(exe, bp::args(args), child_env, bp::std_out > out, bp::std_err > err, bp::std_in < in, ec);
  }
  if (ec) throw Error(Exit::engine_missing, "cannot start " + describe(command) + ": " + ec.message());

  in << command.input;
  in.flush();
  in.pipe().close();

  std::thread err_reader;
  std::string err_text;
  if (mode == Output::capture) {
    err_reader = std::thread([&] {
      std::string line;
      while (std::getline(err, line)) err_text += line + "\n";
    });
  }
  if (mode == Output::stream) {
    std::string line;
    while (std::getline(out, line)) {
      strip_cr(line);
      print_line(prefix_, line);
      tail.add(line);
    }
  } else {
    // Byte-exact: callers hash what registries return.
    result.out.assign(std::istreambuf_iterator<char>(out), std::istreambuf_iterator<char>());
  }
  if (err_reader.joinable()) err_reader.join();
  child.wait();
  result.exit_code = child.exit_code();
  if (mode == Output::capture) {
    std::string l;
    std::size_t start = 0;
    while (start < err_text.size()) {
      const auto nl = err_text.find('\n', start);
      l = err_text.substr(start, nl - start);
      strip_cr(l);
      tail.add(l);
      start = nl + 1;
    }
  }
  result.tail = tail.str();
  return result;
}

std::string describe(const Command& command) {
  std::string out;
  for (const auto& a : command.argv) {
    if (!out.empty()) out += ' ';
    const bool plain = !a.empty() && a.find_first_of(" \t\n'\"\\$`;|&<>()*?[]{}!#~") == std::string::npos;
    if (plain) {
      out += a;
      continue;
    }
    out += '\'';
    for (char c : a) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    out += '\'';
  }
  return out;
}

}  // namespace mai
