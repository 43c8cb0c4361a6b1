# Polling shared by services.sh and the tests (source it): every wait has a limit and says what it
# waited for.

# wait_for SECONDS DESCRIPTION COMMAND...: until COMMAND succeeds (its output discarded); 1 when the
# time is up, after printing that DESCRIPTION did not happen.
wait_for() {
  local limit=$1 what=$2; shift 2
  local tries=$((limit * 10))
  for ((i = 0; i < tries; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  printf '%s did not happen within %ss\n' "$what" "$limit" >&2
  return 1
}

# wait_gone SECONDS PID: until the process has exited; 1 if it is still there.
wait_gone() {
  local limit=$1 pid=$2
  local tries=$((limit * 10))
  for ((i = 0; i < tries; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  return 1
}

file_filled() { [[ -s $1 ]]; }
