#include "base/process.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

#include "base/error.hpp"
#include "base/interrupt.hpp"
#include "base/log.hpp"

namespace mai {
namespace bp = boost::process;
namespace {

constexpr std::size_t kTailLines = 30;
// Runs refused for the rate of requests that go again after the registry's wait (as many as the
// registry client waits in all).
constexpr int kRateLimitedRuns = 20;
// After SIGTERM, before SIGKILL: time for an engine to stop its build containers, whose init ignores
// SIGTERM (podman's own stop timeout before it SIGKILLs them is 10 s).
constexpr auto kGrace = std::chrono::seconds(30);

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

// In the child, between fork and exec: only stdin, stdout and stderr may reach the program. Whatever
// else this process holds open without FD_CLOEXEC (Asio's sockets to a registry, for one) is marked
// close-on-exec rather than closed, which leaves Boost.Process's own exec-error pipe working.
// Async-signal-safe calls only.
void close_inherited_descriptors() {
  if (::syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0) return;  // Linux 5.11 and later
  const long limit = std::min(::sysconf(_SC_OPEN_MAX), 65536L);
  for (int fd = 3; fd < limit; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

boost::filesystem::path find_executable(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  return bp::search_path(name);
}

// Stops a child's process group when the step is interrupted or its time is up.
class Watchdog {
 public:
  Watchdog(pid_t group, std::chrono::seconds timeout) : group_(group) {
    const auto start = std::chrono::steady_clock::now();
    thread_ = std::thread([this, start, timeout] {
      std::unique_lock lock(mutex_);
      std::chrono::steady_clock::time_point term_sent{};
      while (!done_) {
        cv_.wait_for(lock, std::chrono::milliseconds(100));
        if (done_) break;
        const auto now = std::chrono::steady_clock::now();
        const bool expired = timeout.count() > 0 && now - start > timeout;
        if ((expired || interrupted()) && term_sent == std::chrono::steady_clock::time_point{}) {
          timed_out_ = expired && !interrupted();
          ::kill(-group_, SIGTERM);
          term_sent = now;
        } else if (term_sent != std::chrono::steady_clock::time_point{} && now - term_sent > kGrace) {
          ::kill(-group_, SIGKILL);
        }
      }
    });
  }
  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  bool timed_out() const { return timed_out_; }

 private:
  pid_t group_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::atomic<bool> timed_out_{false};
  std::thread thread_;
};

}  // namespace

Result ProcessRunner::run(const Command& command, Output mode, const Log& log) {
  auto policy = policy_;
  if (!command.registry) policy.tries = 1;
  Backoff backoff(policy);
  int rate_limited = 0;
  while (true) {
    auto result = run_once(command, mode, log);
    throw_if_interrupted();
    if (result.ok()) return result;
    const auto said = without_names(result.tail, command.names);
    if (!result.timed_out && command.on_rate_limit && rate_limit_refusal(said) && ++rate_limited <= kRateLimitedRuns) {
      log.warn(describe(command) + " was refused for the rate of requests (exit " + std::to_string(result.exit_code) +
               "); asking the registry how long to wait");
      if (command.on_rate_limit()) continue;  // waited as the registry asked: not an attempt of the policy's
    }
    if (!result.timed_out && permanent_failure(said)) return result;  // retrying cannot help
    const auto announce = [&](int next, int tries, std::chrono::milliseconds delay) {
      log.warn("attempt " + std::to_string(next - 1) + " of " + std::to_string(tries) + " failed" +
               (result.timed_out ? " (timed out)" : " (exit " + std::to_string(result.exit_code) + ")") + ": " +
               describe(command) + "; retrying in " + std::to_string(delay.count()) + " ms");
    };
    if (!backoff.wait_before_next(announce)) return result;
  }
}

Result ProcessRunner::run_once(const Command& command, Output mode, const Log& log) {
  if (command.argv.empty()) throw Error(Exit::usage, "internal: empty command");
  throw_if_interrupted();
  const auto exe = find_executable(command.argv[0]);
  if (exe.empty() || !boost::filesystem::exists(exe))
    throw Error(Exit::engine_missing, "'" + command.argv[0] + "' was not found (PATH or the configured path)");

  std::vector<std::string> args(command.argv.begin() + 1, command.argv.end());
  bp::environment child_env = boost::this_process::environment();
  for (const auto& [k, v] : command.env) child_env[k] = v;

  bp::opstream in;
  bp::ipstream out;
  bp::ipstream err;
  Result result;
  Tail tail;
  std::error_code ec;
  // A child that exits without reading its input (a credential helper with nothing stored) must fail
  // as itself, not kill this process with SIGPIPE: ignored here, and back to the default in the child.
  static const bool sigpipe_ignored = [] { return ::signal(SIGPIPE, SIG_IGN) != SIG_ERR; }();
  (void)sigpipe_ignored;
  // Its own process group: signals and timeouts reach the engine and everything it started.
  const auto own_group = bp::extend::on_exec_setup([](auto&) {
    ::setpgid(0, 0);
    ::signal(SIGPIPE, SIG_DFL);
    close_inherited_descriptors();
  });
  bp::child child;
  if (mode == Output::stream) {
    child = bp::child(exe, bp::args(args), child_env, (bp::std_out & bp::std_err) > out, bp::std_in < in, own_group, ec);
  } else {
    child = bp::child(exe, bp::args(args), child_env, bp::std_out > out, bp::std_err > err, bp::std_in < in, own_group, ec);
  }
  if (ec) throw Error(Exit::engine_missing, "cannot start " + describe(command) + ": " + ec.message());
  ::setpgid(child.id(), child.id());  // also from here, so the group exists before any signal
  set_child_group(child.id());

  std::optional<Watchdog> watchdog;
  watchdog.emplace(child.id(), command.registry ? policy_.timeout : std::chrono::seconds(0));

  in << command.input;  // fails quietly (EPIPE) if the child has gone; its exit status tells why
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
      log.info(line);
      tail.add(line);
    }
  } else {
    // Byte-exact: callers hash what registries return.
    result.out.assign(std::istreambuf_iterator<char>(out), std::istreambuf_iterator<char>());
  }
  if (err_reader.joinable()) err_reader.join();
  child.wait();
  set_child_group(0);
  result.timed_out = watchdog->timed_out();
  watchdog.reset();
  result.exit_code = child.exit_code();
  if (mode == Output::capture) {
    std::size_t start = 0;
    while (start < err_text.size()) {
      const auto nl = err_text.find('\n', start);
      auto l = err_text.substr(start, nl - start);
      strip_cr(l);
      tail.add(l);
      start = nl + 1;
    }
  }
  if (result.timed_out) {
    tail.add("(stopped after " + std::to_string(policy_.timeout.count()) + " s: MULTIARCH_IMAGE_TIMEOUT)");
    if (result.exit_code == 0) result.exit_code = 124;
  }
  result.tail = tail.str();
  return result;
}

}  // namespace mai
