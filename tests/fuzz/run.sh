#!/usr/bin/env bash
# Runs the helper's libFuzzer targets (helper/fuzz/, built with -DMULTIARCH_IMAGE_FUZZ=ON) over their seeds
# (tests/fuzz/seeds/<target>: real inputs, and every input that once found a defect) and their corpus
# (tests/fuzz/corpus/<target>: what earlier campaigns found, minimised), with each target's dictionary.
# Any crash, sanitizer report, broken invariant, hang (an input over --timeout seconds) or blow-up (over
# --rss-mb of memory, or one allocation over --malloc-mb) fails the run and leaves the input in the
# output directory, with the command that replays it.
#
#   tests/fuzz/run.sh --build DIR [TARGET...]                     CI: --seconds (90) of fuzzing in all (about two
#                                                                 minutes with each target's start), new
#                                                                 inputs kept out of the repository
#   tests/fuzz/run.sh --build DIR --minutes N [--jobs J] [TARGET...]
#                                                                 a campaign: N minutes per target (J at a
#                                                                 time, at nice 19), then the new coverage
#                                                                 merged into tests/fuzz/corpus
#   tests/fuzz/run.sh --build DIR --merge-only [--out DIR] [TARGET...]
#                                                                 the merge alone (after an interrupted campaign)
#   tests/fuzz/run.sh --totals                                    each target's CPU seconds in all campaigns,
#                                                                 fewest first, with its highest cov: and ft:
# Each run prints, per target, the executions and libFuzzer's final cov: and ft:, and appends them to
# <DIR>/fuzz-ledger.tsv (the time each target has run in all: wall seconds, and in its last column
# the CPU seconds the fuzzer really got, which at nice 19 on a busy machine can be far fewer; the
# outcome is ok, FAILED, or interrupted: libFuzzer's exit 72 for a signal, no finding). A
# campaign's lines go to tests/fuzz/ledger.tsv too, which the repository keeps: build trees come and go.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build="" minutes="" seconds=90 jobs=1 timeout=10 rss_mb=2048 malloc_mb=512 out="" merge_only=0
targets=()
while (($#)); do
  case $1 in
    --build) build=$2; shift 2 ;;
    --minutes) minutes=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --jobs) jobs=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    --rss-mb) rss_mb=$2; shift 2 ;;
    --malloc-mb) malloc_mb=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --merge-only) merge_only=1; shift ;;
    --totals)
      awk -F'\t' '!/^#/ && NF >= 8 { cpu[$2] += $8; runs[$2]++; execs[$2] += $4
                                    if ($5 > cov[$2]) cov[$2] = $5; if ($6 > ft[$2]) ft[$2] = $6 }
                   END { for (t in cpu) printf "%-18s %7d CPU s %12d execs  cov: %-5d ft: %d\n", t, cpu[t], execs[t], cov[t], ft[t] }' \
        "$root/tests/fuzz/ledger.tsv" | sort -k2,2n
      exit 0 ;;
    -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
    -*) echo "run.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
    *) targets+=("$1"); shift ;;
  esac
done
[[ -n $build ]] || { echo "run.sh: --build DIR (a tree configured with -DMULTIARCH_IMAGE_FUZZ=ON) is required" >&2; exit 2; }
build=$(cd "$build" && pwd)
fuzzers=$build/helper/fuzz
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(find "$fuzzers" -maxdepth 1 -type f -name 'fuzz-*' -perm -u+x -printf '%f\n' | sed 's/^fuzz-//' | sort)
fi
((${#targets[@]})) || { echo "run.sh: no fuzz targets in $fuzzers (build the multiarch-image-fuzzers target)" >&2; exit 2; }
for t in "${targets[@]}"; do
  [[ -x $fuzzers/fuzz-$t ]] || { echo "run.sh: no fuzz target $t in $fuzzers" >&2; exit 2; }
done

out=${out:-$build/fuzz-out}
mkdir -p "$out"
campaign=$minutes
if [[ -n $minutes ]]; then
  per=$((minutes * 60))
else
  per=$((seconds / ${#targets[@]}))
  ((per >= 1)) || per=1
fi

# One target: its seeds and corpus read, new inputs written to a directory of this run (merged into the
# corpus afterwards in a campaign), crashes to <out>/<target>/. A timeout is replayed at normal
# priority first: at nice 19 on a busy machine an input can wait longer than --timeout for the CPU,
# and only one that hangs again is a finding (the target then goes on for the rest of its time).
# The CPU seconds (user + system) of this shell's finished children so far. `times` runs in this
# shell and writes a file: in a $(...) subshell it would report the subshell's own children.
cpu_seconds() {  # cpu_seconds FILE: `times` was written to FILE by this shell
  awk 'NR == 2 { c = 0; for (i = 1; i <= 2; i++) { split($i, ms, "m"); sub("s", "", ms[2]); c += ms[1] * 60 + ms[2] }
                 printf "%d", c }' "$1"
}

run_one() {
  local t=$1
  local dir=$out/$t
  rm -rf "$dir/new" "$dir/tmp" && mkdir -p "$dir/new" "$dir/tmp"  # crash inputs of earlier runs stay
  mkdir -p "$root/tests/fuzz/seeds/$t" "$root/tests/fuzz/corpus/$t"
  local dict=()
  [[ -f $root/tests/fuzz/dict/$t.dict ]] && dict=(-dict="$root/tests/fuzz/dict/$t.dict")
  local status=0 start=$SECONDS left=$per execs=0 cov=0 ft=0 final n cpu0
  : >"$dir/log"
  times >"$dir/times" && cpu0=$(cpu_seconds "$dir/times")
  while ((left > 0)); do
    status=0
    # TMPDIR: what the targets write (scratch files) stays in the run's directory.
    TMPDIR=$dir/tmp nice -n 19 "$fuzzers/fuzz-$t" -max_total_time="$left" -timeout="$timeout" -rss_limit_mb="$rss_mb" \
      -malloc_limit_mb="$malloc_mb" -max_len=65536 -close_fd_mask=1 -print_final_stats=1 -artifact_prefix="$dir/" "${dict[@]}" \
      "$dir/new" "$root/tests/fuzz/corpus/$t" "$root/tests/fuzz/seeds/$t" >"$dir/last.log" 2>&1 || status=$?
    cat "$dir/last.log" >>"$dir/log"
    final=$(grep -E '^#[0-9]+' "$dir/last.log" | tail -1 || true)
    n=$(grep -oE 'number_of_executed_units: [0-9]+' "$dir/last.log" | tail -1 | grep -oE '[0-9]+' || true)
    execs=$((execs + ${n:-$(grep -oE '^#[0-9]+' <<<"$final" | tr -d '#' || echo 0)}))
    cov=$(grep -oE 'cov: [0-9]+' <<<"$final" | grep -oE '[0-9]+' || echo "$cov")
    ft=$(grep -oE 'ft: [0-9]+' <<<"$final" | grep -oE '[0-9]+' || echo "$ft")
    [[ $status == 0 ]] && break
    local hung; hung=$(grep -oE "Test unit written to $dir/timeout-[0-9a-f]+" "$dir/last.log" | awk '{print $NF}' || true)
    if [[ -n $hung ]] && TMPDIR=$dir/tmp "$fuzzers/fuzz-$t" -timeout="$timeout" -rss_limit_mb="$rss_mb" "$hung" >"$dir/replay.log" 2>&1; then
      echo "$t: $(basename "$hung") took over ${timeout}s at nice 19 but not when replayed: CPU starvation, not a hang" >>"$dir/log"
      rm -f "$hung"
      status=0
      left=$((per - (SECONDS - start)))
      continue
    fi
    break
  done
  times >"$dir/times"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$((SECONDS - start))" "$execs" "$cov" "$ft" \
    "$(case $status in 0) echo ok ;; 72) echo interrupted ;; *) echo FAILED ;; esac)" \
    "$(($(cpu_seconds "$dir/times") - cpu0))" >"$dir/ledger-line"
  cat "$dir/ledger-line" >>"$build/fuzz-ledger.tsv"
  [[ -z $campaign ]] || cat "$dir/ledger-line" >>"$root/tests/fuzz/ledger.tsv"
  if [[ $status == 72 ]]; then
    echo "interrupted: fuzz-$t (a signal), no finding" >&2
    return 1
  fi
  if [[ $status != 0 ]]; then
    echo "FAILED: fuzz-$t (exit $status); the input and the report:" >&2
    ls "$dir"/crash-* "$dir"/timeout-* "$dir"/oom-* "$dir"/leak-* 2>/dev/null | sed 's/^/  /' >&2 || true
    grep -E 'ERROR|invariant failed|uncaught|terminate|SUMMARY|ALARM|out-of-memory|malloc\(' "$dir/last.log" | head -5 | sed 's/^/  /' >&2 || true
    echo "  replay: $fuzzers/fuzz-$t <input>; full log: $dir/log" >&2
    return 1
  fi
  printf '%-18s %10s execs  cov: %-6s ft: %-6s %4s s\n' "$t" "$execs" "$cov" "$ft" "$((SECONDS - start))"
}

# A campaign's new inputs join the corpus: what adds coverage beyond the seeds and the corpus, kept
# minimal by libFuzzer's merge. A corpus of more than 300 inputs is merged again on edges alone (without
# hit counts), so that the repository keeps a few hundred small files per target.
merge_one() {
  local t=$1
  local dir=$out/$t corpus=$root/tests/fuzz/corpus/$t
  [[ -n $(ls -A "$dir/new" 2>/dev/null) ]] || return 0
  mkdir -p "$corpus" "$dir/tmp"
  local counters seeds
  for counters in 1 0; do
    rm -rf "$dir/merged" && mkdir -p "$dir/merged"
    cp "$root/tests/fuzz/seeds/$t"/* "$dir/merged/" 2>/dev/null || true
    seeds=$(ls -A "$dir/merged" | wc -l)
    TMPDIR=$dir/tmp nice -n 19 "$fuzzers/fuzz-$t" -merge=1 -use_counters=$counters -max_len=65536 -timeout="$timeout" \
      -rss_limit_mb="$rss_mb" -close_fd_mask=1 "$dir/merged" "$corpus" "$dir/new" >"$dir/merge.log" 2>&1 ||
      { echo "$t: the merge failed, the corpus is left as it was (log: $dir/merge.log)" >&2; return 1; }
    (cd "$root/tests/fuzz/seeds/$t" && ls -A) | while read -r s; do rm -f "$dir/merged/$s"; done
    (($(ls -A "$dir/merged" | wc -l) <= 300)) && break
  done
  rm -rf "$corpus" && mkdir -p "$corpus"
  cp "$dir/merged"/* "$corpus/" 2>/dev/null || true
  echo "$t: corpus $(ls -A "$corpus" | wc -l) inputs beyond $seeds seeds"
}

failed=0
if ((merge_only)); then
  for t in "${targets[@]}"; do merge_one "$t"; done
  exit 0
fi
if ((jobs > 1)); then
  export -f run_one cpu_seconds; export out per timeout rss_mb malloc_mb root fuzzers build campaign
  printf '%s\n' "${targets[@]}" | xargs -P "$jobs" -I{} bash -c 'run_one {}' || failed=1
else
  for t in "${targets[@]}"; do run_one "$t" || failed=1; done
fi
if [[ -n $minutes ]]; then
  for t in "${targets[@]}"; do merge_one "$t"; done
fi
exit "$failed"
