#include "base/interrupt.hpp"

#include <signal.h>

#include <atomic>
#include <csignal>
#include <string>

#include "base/error.hpp"

namespace mai {
namespace {

std::atomic<pid_t> g_child_group{0};
volatile std::sig_atomic_t g_signal = 0;

void on_signal(int sig) {
  g_signal = sig;
  // Async-signal-safe: stop the engine now; the reading thread then sees end of output.
  if (const pid_t group = g_child_group.load(); group > 0) ::kill(-group, SIGTERM);
}

}  // namespace

void install_interrupt_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  for (int sig : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(sig, &sa, nullptr);
}

bool interrupted() { return g_signal != 0; }

void throw_if_interrupted() {
  if (g_signal != 0)
    throw Error(Exit::interrupted, std::string("interrupted by ") + (g_signal == SIGINT    ? "SIGINT"
                                                                     : g_signal == SIGTERM ? "SIGTERM"
                                                                                           : "SIGHUP"));
}

void set_child_group(pid_t group) {
  g_child_group = group;
  if (group > 0 && g_signal != 0) ::kill(-group, SIGTERM);  // arrived while the child was starting
}

}  // namespace mai
