// SIGINT, SIGTERM and SIGHUP: the running child's process group is stopped and the step fails with
// Exit::interrupted. Handlers are installed once by main(); everything that waits checks in here.
#pragma once

#include <sys/types.h>

namespace mai {

void install_interrupt_handlers();
bool interrupted();
void throw_if_interrupted();  // Error(interrupted) once a signal has arrived

// The process group a signal must reach at once (0: none). Set while a child runs.
void set_child_group(pid_t group);

}  // namespace mai
