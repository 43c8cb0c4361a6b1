#!/usr/bin/env bash
# Benchmarks: where the tool stands against the manual way and against the build tool's own floor.
# Every row compares commands measured in the same run (hyperfine) and reports ratios, since absolute
# times vary between machines. Usage, on Debian 12 as root:
#   bench/run.sh [noop] [parallel] [overhead] [resume] [scaling] [daemonless] [bigfiles] [large]
#                [supply] [edit] [buildah] [symbols] [far]                         (default: all rows)
# Prints a markdown table and writes it to build/bench/results.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bench=$root/bench
work=$root/build/bench
rows=("$@")
((${#rows[@]})) || rows=(noop parallel overhead resume scaling daemonless bigfiles large supply edit buildah symbols far)

"$root/tests/machine-setup.sh"
rm -rf "$work/run"; mkdir -p "$work/run"
cmake -S "$root" -B "$work/helper" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCMAKE_UNITY_BUILD=ON -DMULTIARCH_IMAGE_BUILD_TESTING=ON >/dev/null
cmake --build "$work/helper" --target multiarch-image multiarch-fault-proxy >/dev/null
helper=$work/helper/helper/multiarch-image
proxy=$work/helper/tests/multiarch-fault-proxy

services=$work/run/services
"$root/tests/e2e/services.sh" start "$services" 2>/dev/null
registry_dir=$work/run/registry
tls_certs="" far_pid=""
cleanup() {
  [[ -z $far_pid ]] || kill "$far_pid" 2>/dev/null || true
  [[ -z $tls_certs ]] || rm -rf "$tls_certs"
  "$root/tests/e2e/services.sh" registry-stop "$work/run/registry-tls" 2>/dev/null || true
  "$root/tests/e2e/services.sh" registry-stop "$registry_dir" 2>/dev/null || true
  "$root/tests/e2e/services.sh" stop "$services" 2>/dev/null || true
}
trap cleanup EXIT
# shellcheck disable=SC1091
. "$services/env"

# Engine invocations are counted through a logging wrapper, as in the tests.
mkdir -p "$work/run/bin"
printf '#!/bin/sh\nprintf "%%s\\n" "docker $*" >>"%s"\nexec %s "$@"\n' "$work/run/engine-calls.log" "$MULTIARCH_TEST_DOCKER" \
  >"$work/run/bin/docker"
chmod +x "$work/run/bin/docker"
export MULTIARCH_IMAGE_DOCKER=$work/run/bin/docker
calls() { wc -l <"$work/run/engine-calls.log" | tr -d ' '; }
builds() { grep -c "^docker build" "$work/run/engine-calls.log" || true; }
reset_calls() { : >"$work/run/engine-calls.log"; }

results=$work/results.md
{
  echo "| row | measured | result | goal |"
  echo "| --- | --- | --- | --- |"
} >"$results"
report() { printf '| %s | %s | %s | %s |\n' "$@" | tee -a "$results"; }
mean() { jq -r --arg n "$2" '.results[] | select(.command == $n) | .mean' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
ms() { awk -v s="$1" 'BEGIN { printf "%.1f ms", s * 1000 }'; }
secs() { awk -v s="$1" 'BEGIN { printf "%.2f s", s }'; }
# A one-line edit of examples/cross's server program in the copy at SOURCE: a new greeting each time.
edit_server() { sed -i "s/greeting::message(\"server[^\"]*\")/greeting::message(\"server $(date +%s%N)\")/" "$1/src/server.cpp"; }
configure() {  # configure SOURCE BUILD ARGS...
  local src=$1 dir=$2; shift 2
  cmake -S "$src" -B "$dir" -G Ninja -DMULTIARCH_IMAGE_SOURCE_DIR="$root" -DMULTIARCH_IMAGE_HELPER="$helper" \
    -DMULTIARCH_IMAGE_ENGINE=docker "$@" >/dev/null
}
now() { date +%s.%N; }
# programs_script BUILD FILE: writes FILE, a script that builds examples/cross's programs in BUILD as
# a push schedules them: this build's at -j3 beside the cross sub-builds, which go one at a time.
programs_script() {
  local sub
  {
    echo '#!/bin/sh'
    echo 'set -e'
    echo "cmake --build $1 --target hello_cli hello_server -j3 >/dev/null & main=\$!"
    for sub in "$1"/multiarch-image-cross/*/; do echo "cmake --build $sub --target hello_cli hello_server >/dev/null"; done
    echo 'wait $main'
  } >"$2"
  chmod +x "$2"
}
# shellcheck source=../tests/e2e/wait.sh
. "$root/tests/e2e/wait.sh"

row_noop() {
  local ours=$work/run/noop bare=$work/run/bare repo=$REGISTRY/bench/noop
  configure "$root/examples/hello" "$ours" -DHELLO_REPOSITORY="$repo"
  cmake --build "$ours" --target image-push -j3 >/dev/null
  cmake -S "$bench/bare" -B "$bare" -G Ninja >/dev/null && cmake --build "$bare" >/dev/null
  # A consumer that adds the module with add_subdirectory (examples/hello standalone): the helper is
  # built in a tree of its own by the first build.
  local consumer=$work/run/noop-consumer
  cmake -S "$root/examples/hello" -B "$consumer" -G Ninja -DMULTIARCH_IMAGE_ENGINE=docker \
    -DHELLO_REPOSITORY="$repo-consumer" >/dev/null
  cmake --build "$consumer" --target image-push -j3 >/dev/null
  "$bench/manual.sh" "$repo-manual" 1.0.0 "$ours/context" linux/amd64 linux/arm64 linux/arm/v7   # first run
  reset_calls
  hyperfine -N --warmup 3 --runs 30 --export-json "$work/run/noop.json" \
    -n ours "cmake --build $ours --target image-push" -n bare "cmake --build $bare" \
    -n consumer "cmake --build $consumer --target image-push" >/dev/null
  local our_calls; our_calls=$(calls)
  hyperfine --warmup 1 --runs 5 --export-json "$work/run/noop-manual.json" \
    -n manual "$bench/manual.sh $repo-manual 1.0.0 $ours/context linux/amd64 linux/arm64 linux/arm/v7" >/dev/null
  local manual_calls=$(( $(calls) - our_calls ))
  local o b m
  o=$(mean "$work/run/noop.json" ours) b=$(mean "$work/run/noop.json" bare) m=$(mean "$work/run/noop-manual.json" manual)
  local c; c=$(mean "$work/run/noop.json" consumer)
  report "1. no-op image-push, 3 platforms" "ours $(ms "$o"), add_subdirectory consumer $(ms "$c"), bare CMake+Ninja $(ms "$b"), manual script $(ms "$m")" \
    "$(ratio "$o" "$b")× the bare no-op (consumer: $(ratio "$c" "$b")×); manual script $(ratio "$m" "$o")× ours; engine calls: ours and consumer $our_calls over 66 runs, manual $((manual_calls / 6)) per run" \
    "≤ 1.5× bare, 0 engine calls"
}

burn_build() {  # burn_build DIR: a build tree of bench/burn on the bench registry
  configure "$bench/burn" "$1" -DBURN_REPOSITORY="$REGISTRY/bench/burn-$(basename "$1")"
  cmake --build "$1" --target burn-binaries >/dev/null
}

row_parallel() {
  local j1=$work/run/j1 j3=$work/run/j3
  burn_build "$j1"; burn_build "$j3"
  # floor: the same three builds started at once from a shell, then pushed at once, then the list.
  hyperfine --runs 3 --export-json "$work/run/parallel.json" \
    --prepare "cmake $j1 -DBURN_NONCE=\$(date +%s%N) >/dev/null; cmake $j3 -DBURN_NONCE=\$(date +%s%N) >/dev/null" \
    -n j1 "cmake --build $j1 --target image-push -j1" -n j3 "cmake --build $j3 --target image-push -j3" \
    -n floor "NONCE=\$(date +%s%N) $bench/manual.sh --parallel $REGISTRY/bench/burn-floor 1.0.0 $j3/context linux/amd64 linux/arm64 linux/arm/v7" \
    >/dev/null
  local a b f
  a=$(mean "$work/run/parallel.json" j1) b=$(mean "$work/run/parallel.json" j3) f=$(mean "$work/run/parallel.json" floor)
  report "2. first publish, 3 platforms with a QEMU RUN step" \
    "-j1 $(secs "$a"), -j3 $(secs "$b"), engine's own parallel floor $(secs "$f") ($(nproc) cores)" \
    "-j3 takes $(ratio "$b" "$a")× the -j1 time and $(ratio "$b" "$f")× the floor" "≤ 0.6×"
}

# The helper's manifest step over examples/hello's three push records in DIR, writing OUT.
manifest_step() {  # manifest_step DIR OUT
  local dir=$1 out=$2 records="" p
  for p in linux-amd64 linux-arm64 linux-arm-v7; do records+=" --push-record $dir/push-$p.json"; done
  echo "$helper manifest --spec $dir/spec.json$records --record $out"
}
# docker's own way to publish the same list, as REPOSITORY:cmp, from the push records in DIR.
docker_manifest() {  # docker_manifest REPOSITORY DIR
  local repo=$1 dir=$2 refs="" p docker=$MULTIARCH_TEST_DOCKER
  for p in linux-amd64 linux-arm64 linux-arm-v7; do refs+=" $repo@$(jq -r .digest "$dir/push-$p.json")"; done
  echo "$docker manifest create --amend --insecure $repo:cmp$refs >/dev/null && $docker manifest push --purge --insecure $repo:cmp >/dev/null && $docker manifest inspect --insecure $repo:cmp >/dev/null"
}
# time_publish JSON RUNS DELETE-URL COMMAND [CURL-OPTIONS...]: COMMAND timed as NAME "publish", the
# list deleted at DELETE-URL before each run so that every run publishes it.
time_publish() {
  local json=$1 runs=$2 url=$3 command=$4; shift 4
  hyperfine -N --warmup 2 --runs "$runs" --export-json "$json" \
    --prepare "curl -s -o /dev/null $* -X DELETE $url" -n publish "$command" >/dev/null
}
# time_docker JSON RUNS COMMAND: docker's way, timed as NAME "docker".
time_docker() { hyperfine --warmup 1 --runs "$2" --export-json "$1" -n docker "$3" >/dev/null; }

row_overhead() {
  export FAKE_ENGINE_STATE=$work/run/fake-state FAKE_ENGINE_OFFLINE=1
  local dir=$work/run/overhead fake=$bench/fake-engine
  configure "$root/tests/projects/two-images" "$dir" -DMULTIARCH_IMAGE_DOCKER="$fake" -DTEST_REGISTRY="$REGISTRY"
  cmake --build "$dir" --target image-build >/dev/null
  local s=$dir/multiarch-image/alpha
  # The push step reads the manifest it pushed back from the registry: one real (tiny) push puts it
  # there, and the timed runs' fake engine answers at once with that manifest's digest.
  FAKE_ENGINE_OFFLINE="" "$helper" push --spec "$s/spec.json" --platform linux/amd64 \
    --build-record "$s/build-linux-amd64.json" --record "$work/run/p.json" >/dev/null 2>&1
  hyperfine -N --warmup 3 --runs 30 --export-json "$work/run/overhead.json" \
    -n build "$helper build --spec $s/spec.json --platform linux/amd64 --record $work/run/b.json --depfile $work/run/b.d" \
    -n push "$helper push --spec $s/spec.json --platform linux/amd64 --build-record $s/build-linux-amd64.json --record $work/run/p.json" \
    -n call "$fake version --format x" >/dev/null
  # The manifest step runs no engine command: it is timed against the real loopback registry, over
  # examples/hello published for real, (a) publishing the list again after it was deleted and (b)
  # finding it already there.
  local real=$work/run/overhead-real repo=$REGISTRY/bench/overhead
  unset FAKE_ENGINE_STATE FAKE_ENGINE_OFFLINE
  configure "$root/examples/hello" "$real" -DHELLO_REPOSITORY="$repo"
  cmake --build "$real" --target image-push -j3 >/dev/null
  local m=$real/multiarch-image/hello
  local index; index=$(jq -r .index_digest "$m/metadata.json")
  time_publish "$work/run/manifest.json" 20 "http://$REGISTRY/v2/bench/overhead/manifests/$index" "$(manifest_step "$m" "$work/run/m.json")"
  hyperfine -N --warmup 2 --runs 20 --export-json "$work/run/manifest-unchanged.json" -n unchanged \
    "$(manifest_step "$m" "$work/run/m.json")" >/dev/null
  time_docker "$work/run/manifest-docker.json" 10 "$(docker_manifest "$repo" "$m")"

  # The same over TLS, verified against a CA in certs.d: one handshake per step, its connection kept.
  local tls=$work/run/registry-tls
  mkdir -p "$tls"
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$tls/tls.key" -out "$tls/tls.crt" 2>/dev/null
  "$root/tests/e2e/services.sh" registry-start "$tls" 2>/dev/null
  local tls_registry=127.0.0.1:$(cat "$tls/registry.port")
  tls_certs=/etc/docker/certs.d/$tls_registry
  mkdir -p "$tls_certs" && cp "$tls/tls.crt" "$tls_certs/ca.crt"
  configure "$root/examples/hello" "$work/run/overhead-tls" -DHELLO_REPOSITORY="$tls_registry/bench/overhead"
  cmake --build "$work/run/overhead-tls" --target image-push -j3 >/dev/null
  local mt=$work/run/overhead-tls/multiarch-image/hello
  time_publish "$work/run/manifest-tls.json" 20 \
    "https://$tls_registry/v2/bench/overhead/manifests/$(jq -r .index_digest "$mt/metadata.json")" \
    "$(manifest_step "$mt" "$work/run/mt.json")" --cacert "$tls/tls.crt"
  "$root/tests/e2e/services.sh" registry-stop "$tls" 2>/dev/null
  rm -rf "$tls_certs"

  # A registry 50 ms away (25 ms each way through a delaying proxy on loopback): what round trips
  # cost, ours against docker's way of the same list through the same proxy.
  "$proxy" --target "$REGISTRY" --port-file "$work/run/far.port" --log "$work/run/far.log" --delay-ms 25 &
  far_pid=$!
  wait_for 5 "the delaying proxy" file_filled "$work/run/far.port"
  local far=127.0.0.1:$(cat "$work/run/far.port") farm=$work/run/far-records f
  mkdir -p "$farm"
  for f in spec push-linux-amd64 push-linux-arm64 push-linux-arm-v7; do sed "s|$REGISTRY/|$far/|g" "$m/$f.json" >"$farm/$f.json"; done
  time_publish "$work/run/manifest-far.json" 10 "http://$REGISTRY/v2/bench/overhead/manifests/$index" \
    "$(manifest_step "$farm" "$work/run/mf.json")"
  time_docker "$work/run/manifest-far-docker.json" 5 "$(docker_manifest "$far/bench/overhead" "$m")"
  kill "$far_pid" 2>/dev/null; wait "$far_pid" 2>/dev/null || true; far_pid=""

  local call build push
  call=$(mean "$work/run/overhead.json" call)
  # Fake engine calls per step: build 4 (buildx version, version, build, image inspect), push 3
  # (image inspect, tag, push).
  build=$(awk -v t="$(mean "$work/run/overhead.json" build)" -v c="$call" 'BEGIN { print t - 4 * c }')
  push=$(awk -v t="$(mean "$work/run/overhead.json" push)" -v c="$call" 'BEGIN { print t - 3 * c }')
  local published unchanged over_tls with_docker far_ours far_docker
  published=$(mean "$work/run/manifest.json" publish) unchanged=$(mean "$work/run/manifest-unchanged.json" unchanged)
  over_tls=$(mean "$work/run/manifest-tls.json" publish) with_docker=$(mean "$work/run/manifest-docker.json" docker)
  far_ours=$(mean "$work/run/manifest-far.json" publish) far_docker=$(mean "$work/run/manifest-far-docker.json" docker)
  report "3. helper overhead per step (fake engine answering at once; the manifest step against the loopback registry)" \
    "one fake engine call $(ms "$call")" "build $(ms "$build"), push $(ms "$push") beyond the engine calls; manifest step in all (3 platforms, its HTTP requests included): publish $(ms "$published"), list already there $(ms "$unchanged"), publish over verified TLS $(ms "$over_tls") ($(ratio "$over_tls" "$published")× plain HTTP); docker manifest create + push + inspect of the same list $(ms "$with_docker") ($(ratio "$with_docker" "$published")× ours)" \
    "≤ 20 ms per step"
  report "3b. the manifest step against a registry 50 ms away (a delaying proxy on loopback), publishing 3 platforms" \
    "docker manifest create + push + inspect of the same list through the same proxy $(ms "$far_docker")" \
    "ours $(ms "$far_ours"): docker's way takes $(ratio "$far_docker" "$far_ours")× ours" "round trips, not requests"
}

row_resume() {
  "$root/tests/e2e/services.sh" registry-start "$registry_dir" 2>/dev/null
  local registry=127.0.0.1:$(cat "$registry_dir/registry.port") dir=$work/run/resume
  configure "$bench/burn" "$dir" -DBURN_REPOSITORY="$registry/bench/resume"
  cmake --build "$dir" --target burn-binaries >/dev/null
  local ours=() manual=() oneshot=() t our_builds=0 manual_builds=0 oneshot_builds=0
  for _ in 1 2; do
    # ours: everything built, the push fails, the registry returns, the rerun is measured
    cmake "$dir" -DBURN_NONCE="$(date +%s%N)" >/dev/null
    cmake --build "$dir" --target image-build -j3 >/dev/null
    "$root/tests/e2e/services.sh" registry-stop "$registry_dir"
    cmake --build "$dir" --target image-push -j3 >/dev/null 2>&1 && { echo "push succeeded with no registry" >&2; exit 1; }
    "$root/tests/e2e/services.sh" registry-start "$registry_dir" 2>/dev/null
    reset_calls; t=$(now)
    cmake --build "$dir" --target image-push -j3 >/dev/null
    ours+=("$(awk -v a="$t" -v b="$(now)" 'BEGIN { print b - a }')"); our_builds=$((our_builds + $(builds)))

    # manual script: its first run fails at the push; the rerun builds again (from cache) and pushes
    sed -i "s/^ARG NONCE=.*/ARG NONCE=$(date +%s%N)/" "$dir/context/Dockerfile"
    "$root/tests/e2e/services.sh" registry-stop "$registry_dir"
    "$bench/manual.sh" "$registry/bench/resume-manual" 1.0.0 "$dir/context" linux/amd64 linux/arm64 linux/arm/v7 2>/dev/null \
      && { echo "manual push succeeded with no registry" >&2; exit 1; }
    "$root/tests/e2e/services.sh" registry-start "$registry_dir" 2>/dev/null
    reset_calls; t=$(now)
    "$bench/manual.sh" "$registry/bench/resume-manual" 1.0.0 "$dir/context" linux/amd64 linux/arm64 linux/arm/v7
    manual+=("$(awk -v a="$t" -v b="$(now)" 'BEGIN { print b - a }')"); manual_builds=$((manual_builds + $(builds)))

    # one-shot build-and-push on a fresh builder (buildx --push in CI): the rerun has no cache
    reset_calls; t=$(now)
    "$bench/manual.sh" --no-cache "$registry/bench/resume-oneshot" 1.0.0 "$dir/context" linux/amd64 linux/arm64 linux/arm/v7
    oneshot+=("$(awk -v a="$t" -v b="$(now)" 'BEGIN { print b - a }')"); oneshot_builds=$((oneshot_builds + $(builds)))
  done
  avg() { printf '%s\n' "$@" | awk '{ s += $1 } END { print s / NR }'; }
  local o m x; o=$(avg "${ours[@]}") m=$(avg "${manual[@]}") x=$(avg "${oneshot[@]}")
  report "4. rerun after a failed push (registry down, then back)" \
    "ours $(secs "$o"), manual script $(secs "$m"), one-shot without cache $(secs "$x") (mean of 2)" \
    "builds on the rerun: ours $((our_builds / 2)), manual $((manual_builds / 2)) (cached), one-shot $((oneshot_builds / 2)); one-shot takes $(ratio "$x" "$o")× ours" \
    "0 builds"
}

scaling_project() {  # scaling_project DIR IMAGES: N images x 4 platforms, each with a small context
  local dir=$1 n=$2
  mkdir -p "$dir"
  {
    echo "cmake_minimum_required(VERSION 3.21)"
    echo "project(scaling VERSION 1.0.0 LANGUAGES NONE)"
    echo "include(\"\${MULTIARCH_IMAGE_SOURCE_DIR}/cmake/MultiArchImage.cmake\")"
    echo "foreach(i RANGE 1 $n)"
    echo "  add_multiarch_image(img\${i} REPOSITORY $REGISTRY/scale/img\${i}"
    echo "    PLATFORMS linux/amd64 linux/arm64 linux/arm/v7 linux/ppc64le CONTEXT ctx/img\${i})"
    echo "endforeach()"
  } >"$dir/CMakeLists.txt"
  for i in $(seq 1 "$n"); do
    mkdir -p "$dir/ctx/img$i/src"
    printf 'FROM scratch\nCOPY . /\n' >"$dir/ctx/img$i/Dockerfile"
    for f in 1 2 3 4 5; do echo "$i $f" >"$dir/ctx/img$i/src/file$f.txt"; done
  done
}

row_scaling() {
  export FAKE_ENGINE_STATE=$work/run/fake-scaling
  local n cells=()
  for n in 1 10 100; do
    local src=$work/run/scale-src-$n dir=$work/run/scale-$n
    scaling_project "$src" "$n"
    hyperfine --runs 3 --export-json "$work/run/configure-$n.json" --prepare "rm -rf $dir" \
      -n configure "cmake -S $src -B $dir -G Ninja -DMULTIARCH_IMAGE_SOURCE_DIR=$root -DMULTIARCH_IMAGE_HELPER=$helper -DMULTIARCH_IMAGE_ENGINE=docker -DMULTIARCH_IMAGE_DOCKER=$bench/fake-engine" >/dev/null
    cmake --build "$dir" --target image-push -j2 >/dev/null
    hyperfine -N --warmup 2 --runs 10 --export-json "$work/run/noop-$n.json" -n noop "cmake --build $dir --target image-push" >/dev/null
    cells+=("$n: configure $(ms "$(mean "$work/run/configure-$n.json" configure)"), no-op $(ms "$(mean "$work/run/noop-$n.json" noop)")")
  done
  unset FAKE_ENGINE_STATE
  report "5a. scaling, images × 4 platforms" "${cells[0]}; ${cells[1]}; ${cells[2]}" \
    "100 vs 10 images: configure $(ratio "$(mean "$work/run/configure-100.json" configure)" "$(mean "$work/run/configure-10.json" configure)")×, no-op $(ratio "$(mean "$work/run/noop-100.json" noop)" "$(mean "$work/run/noop-10.json" noop)")× (10× the images)" \
    "linear"

  local files
  for files in 1000 10000; do
    local ctx=$work/run/context-$files
    mkdir -p "$ctx"
    printf 'FROM scratch\nCOPY . /\n' >"$ctx/Dockerfile"
    for d in $(seq 1 $((files / 100))); do
      mkdir -p "$ctx/dir$d"
      (cd "$ctx/dir$d" && for f in $(seq 1 100); do : >"f$f.txt"; done)
    done
    jq -n --arg c "$ctx" '{format: 1, name: "ctx", repository: "127.0.0.1:5000/x/y", tags: ["1"],
      platforms: ["linux/amd64"], context: $c, dockerfile: ($c + "/Dockerfile")}' >"$work/run/context-$files.json"
  done
  hyperfine -N --warmup 2 --runs 20 --export-json "$work/run/context.json" \
    -n 1000 "$helper list-context --spec $work/run/context-1000.json" \
    -n 10000 "$helper list-context --spec $work/run/context-10000.json" >/dev/null
  local a b; a=$(mean "$work/run/context.json" 1000) b=$(mean "$work/run/context.json" 10000)
  report "5b. depfile computation (context listing)" "1,000 files $(ms "$a"), 10,000 files $(ms "$b")" \
    "10× the files: $(ratio "$b" "$a")× the time" "10,000 files < 0.3 s, linear"
}

# examples/cross, three platforms, through its Dockerfile (docker, QEMU for the RUN step of foreign
# platforms) and assembled by the helper (no engine): a first publish (a new repository, docker's
# build cache emptied), and a publish after a one-line edit of one program, timed as users run it: the
# edit only touches the source, and each path's push compiles, stages and publishes. Bytes uploaded:
# what the registry's storage grew by.
row_daemonless() {
  local src=$work/run/daemonless-src dir=$work/run/daemonless docker=$MULTIARCH_TEST_DOCKER
  rm -rf "$src"; cp -r "$root/examples/cross" "$src"
  configure "$src" "$dir" -DCMAKE_BUILD_TYPE=Release -DCROSS_HELLO_ASSEMBLED_IMAGE=ON \
    -DCROSS_HELLO_REPOSITORY="$REGISTRY/bench/daemonless" "-DCROSS_HELLO_CROSS_ARGS=-DMULTIARCH_IMAGE_SOURCE_DIR=$root"
  local staged="cross-hello-context cross-hello-stage-linux-amd64 cross-hello-assembled-stage-linux-amd64 cross-hello-compile-linux-arm64 cross-hello-compile-linux-arm-v7"
  cmake --build "$dir" --target $staged >/dev/null
  # Each first publish from nothing: a new repository, docker's build cache and images gone, and the
  # helper's layout and layer cache gone.
  local assembled_state=$dir/multiarch-image/cross-hello-assembled
  hyperfine --runs 3 --export-json "$work/run/daemonless-first.json" \
    --prepare "cmake $dir -DCROSS_HELLO_REPOSITORY=$REGISTRY/bench/first-\$(date +%s%N) >/dev/null && rm -rf $assembled_state/oci $assembled_state/layer-cache && $docker builder prune -af >/dev/null 2>&1; $docker image prune -af >/dev/null" \
    -n dockerfile "cmake --build $dir --target cross-hello-push -j3" \
    -n daemonless "cmake --build $dir --target cross-hello-assembled-push -j3" >/dev/null
  # The edit: a new string in one program, compiled and staged for every platform.
  local edit=$work/run/edit.sh
  cat >"$edit" <<'EDIT'
#!/bin/sh
set -e
sed -i "s/greeting::message(\"server[^\"]*\")/greeting::message(\"server $(date +%s%N)\")/" "$1/src/server.cpp"
EDIT
  chmod +x "$edit"
  edit="$edit $src $dir $staged"
  cmake --build "$dir" --target cross-hello-push cross-hello-assembled-push -j3 >/dev/null
  # The floor both paths share: the changed programs built alone, scheduled as a push schedules them
  # (this build's at -j3 beside the cross sub-builds, which go one at a time), as in row 11.
  local programs=$work/run/daemonless-programs.sh
  programs_script "$dir" "$programs"
  hyperfine --runs 5 --export-json "$work/run/daemonless-edit.json" --prepare "$edit" \
    -n dockerfile "cmake --build $dir --target cross-hello-push -j3" \
    -n daemonless "cmake --build $dir --target cross-hello-assembled-push -j3" \
    -n programs "$programs" >/dev/null
  local store=$services/registry grown=()
  for image in cross-hello cross-hello-assembled; do
    $edit
    local before; before=$(du -sb "$store" | cut -f1)
    cmake --build "$dir" --target $image-push -j3 >/dev/null
    grown+=("$(( $(du -sb "$store" | cut -f1) - before ))")
  done
  local f1 f2 e1 e2 e0
  f1=$(mean "$work/run/daemonless-first.json" dockerfile) f2=$(mean "$work/run/daemonless-first.json" daemonless)
  e1=$(mean "$work/run/daemonless-edit.json" dockerfile) e2=$(mean "$work/run/daemonless-edit.json" daemonless)
  e0=$(mean "$work/run/daemonless-edit.json" programs)
  report "7a. examples/cross first publish, 3 platforms" "Dockerfile path $(secs "$f1"), assembled by the helper $(secs "$f2")" \
    "assembled is $(ratio "$f1" "$f2")× faster" "≥ 5×"
  report "7b. the same after a one-line edit of one program" \
    "Dockerfile path $(secs "$e1"), assembled $(secs "$e2"), the changed programs alone $(secs "$e0"); registry storage grew by ${grown[0]} vs ${grown[1]} bytes" \
    "the publish beyond the programs' build: assembled $(awk -v a="$e1" -v b="$e2" -v c="$e0" 'BEGIN { printf "%.2f", (a - c) / (b - c) }')× faster (whole path $(ratio "$e1" "$e2")×), uploads $(ratio "${grown[0]}" "${grown[1]}")× fewer bytes" "≥ 10× beyond the build"
}

# An image with 1 GiB of FILES (three files of 256 MiB that do not compress, 10,000 small ones that
# do), assembled and pushed: the layering's speed against `tar | gzip -1` (the helper's level) over the same tree in the
# same run, and the helper's peak resident memory in the build and push steps (GNU time, through a
# wrapper named as the helper).
row_bigfiles() {
  command -v /usr/bin/time >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
  local tree=$work/run/big-tree src=$work/run/big-src dir=$work/run/big wrapper=$work/run/bin/timed-helper
  rm -rf "$tree" "$src"; mkdir -p "$tree/small" "$src"
  for i in 1 2 3; do head -c $((256 << 20)) /dev/urandom >"$tree/big$i.bin"; done
  head -c $((10000 * 18000)) /dev/urandom | base64 -w 100 | split -a 5 -d -b 24000 - "$tree/small/f"
  local bytes; bytes=$(du -sb "$tree" | cut -f1)
  printf '#!/bin/sh\nexec /usr/bin/time -a -o %s -f "%%C %%M" %s "$@"\n' "$work/run/rss.log" "$helper" >"$wrapper"
  chmod +x "$wrapper"; : >"$work/run/rss.log"
  cat >"$src/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(big LANGUAGES NONE)
include("$root/cmake/MultiArchImage.cmake")
add_multiarch_image(big REPOSITORY "\${BIG_REPOSITORY}" PLATFORMS linux/amd64 BASE scratch ENTRYPOINT /data/big1.bin
  FILES "$tree/=/data/")
CMAKE
  cmake -S "$src" -B "$dir" -G Ninja -DMULTIARCH_IMAGE_HELPER="$wrapper" -DBIG_REPOSITORY="$REGISTRY/bench/big" >/dev/null
  hyperfine --runs 2 --export-json "$work/run/big.json" \
    --prepare "cmake $dir -DBIG_REPOSITORY=$REGISTRY/bench/big-\$(date +%s%N) >/dev/null" \
    -n layer "cmake --build $dir --target big-build-linux-amd64" \
    -n tar "tar -C $tree --sort=name -cf - . | gzip -1 >/dev/null" >/dev/null
  cmake --build "$dir" --target big-push >/dev/null   # a push of the last build, to a new repository
  local layer tgz build_rss push_rss
  layer=$(mean "$work/run/big.json" layer) tgz=$(mean "$work/run/big.json" tar)
  build_rss=$(awk '$2 == "build" { if ($NF > m) m = $NF } END { print m }' "$work/run/rss.log")
  push_rss=$(awk '$2 == "push" { if ($NF > m) m = $NF } END { print m }' "$work/run/rss.log")
  report "8. 1 GiB of FILES (3 × 256 MiB + 10,000 small files), one platform" \
    "layering $(awk -v b="$bytes" -v s="$layer" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }'), tar | gzip -1 $(awk -v b="$bytes" -v s="$tgz" 'BEGIN { printf "%.0f MB/s", b / s / 1e6 }'); peak RSS: build $((build_rss / 1024)) MB, push $((push_rss / 1024)) MB" \
    "layering at $(ratio "$tgz" "$layer")× the speed of tar | gzip" "near 1×; < 100 MB"
  rm -rf "$tree"
}

# A large image's first publish grows linearly: generated trees of 5,000 and 50,000 files (1 KiB each,
# 100 per directory) as FILES of one platform, each published from nothing (a new build tree and
# repository: configure, build, push, manifest and verification), mean of 2; peak resident set of
# every helper step.
row_large() {
  command -v /usr/bin/time >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
  local wrapper=$work/run/bin/timed-helper-large n times=() rss=()
  printf '#!/bin/sh\nexec /usr/bin/time -a -o %s -f "%%C %%M" %s "$@"\n' "$work/run/large-rss.log" "$helper" >"$wrapper"
  chmod +x "$wrapper"
  for n in 5000 50000; do
    local tree=$work/run/large-tree-$n src=$work/run/large-src-$n dir=$work/run/large-$n
    rm -rf "$tree" "$src" "$dir"; mkdir -p "$tree" "$src"
    # n files of 1 KiB of base64 text (compressible, as source trees and data files are), 100 per directory.
    # (base64 is cut short by the second head: its broken pipe is expected.)
    { head -c $((n * 800)) /dev/urandom | base64 -w 64 || true; } | head -c $((n * 1024)) | split -a 6 -d -b 1024 - "$tree/f"
    [[ $(find "$tree" -type f | wc -l) -eq $n ]] || { echo "row large: the tree has not $n files" >&2; return 1; }
    (cd "$tree" && for ((d = 0; d < n / 100; d++)); do mkdir "d$d" && mv $(printf 'f%06d ' $(seq $((d * 100)) $((d * 100 + 99)))) "d$d/"; done)
    [[ $(find "$tree" -mindepth 2 -type f | wc -l) -eq $n ]] || { echo "row large: files left outside the directories" >&2; return 1; }
    cat >"$src/CMakeLists.txt" <<CMAKE
cmake_minimum_required(VERSION 3.21)
project(large LANGUAGES NONE)
include("$root/cmake/MultiArchImage.cmake")
add_multiarch_image(large REPOSITORY "\${LARGE_REPOSITORY}" PLATFORMS linux/amd64 BASE scratch ENTRYPOINT /data/d0/f000000
  FILES "$tree/=/data/")
CMAKE
    : >"$work/run/large-rss.log"
    # From nothing, as a fresh checkout's CI job: a new build tree (configure included) and repository.
    hyperfine --runs 2 --export-json "$work/run/large-$n.json" --prepare "rm -rf $dir" \
      -n "first publish" "cmake -S $src -B $dir -G Ninja -DMULTIARCH_IMAGE_HELPER=$wrapper -DLARGE_REPOSITORY=$REGISTRY/bench/large-\$(date +%s%N) >/dev/null && cmake --build $dir --target image-push" >/dev/null
    times+=("$(mean "$work/run/large-$n.json" "first publish")")
    rss+=("$(awk '{ if ($NF > m) m = $NF } END { print m }' "$work/run/large-rss.log")")
    rm -rf "$tree"
  done
  report "8b. a large image's first publish: 5,000 against 50,000 files of 1 KiB (FILES, one platform)" \
    "5,000 files $(secs "${times[0]}"), 50,000 files $(secs "${times[1]}"); peak RSS of any helper step: $((rss[0] / 1024)) MB, $((rss[1] / 1024)) MB" \
    "10× the files: $(ratio "${times[1]}" "${times[0]}")× the time, $(ratio "${rss[1]}" "${rss[0]}")× the memory" "linear: ≤ 10× the time"
}

# SBOM and provenance (both on by default) against neither: examples/cross republished after a
# one-line edit, the Dockerfile image and the assembled one, in two build trees of the same source
# that differ only in -DMULTIARCH_IMAGE_SBOM=OFF -DMULTIARCH_IMAGE_PROVENANCE=OFF; each push compiles
# and stages the edit, as users run it. Requests are the registry's access log lines one publish adds.
row_supply() {
  local src=$work/run/supply-src on=$work/run/supply-on off=$work/run/supply-off
  rm -rf "$src"; cp -r "$root/examples/cross" "$src"
  local common=(-DCMAKE_BUILD_TYPE=Release -DCROSS_HELLO_ASSEMBLED_IMAGE=ON "-DCROSS_HELLO_CROSS_ARGS=-DMULTIARCH_IMAGE_SOURCE_DIR=$root")
  configure "$src" "$on" "${common[@]}" -DCROSS_HELLO_REPOSITORY="$REGISTRY/bench/supply-on"
  configure "$src" "$off" "${common[@]}" -DCROSS_HELLO_REPOSITORY="$REGISTRY/bench/supply-off" \
    -DMULTIARCH_IMAGE_SBOM=OFF -DMULTIARCH_IMAGE_PROVENANCE=OFF
  local staged="cross-hello-context cross-hello-stage-linux-amd64 cross-hello-assembled-stage-linux-amd64 cross-hello-compile-linux-arm64 cross-hello-compile-linux-arm-v7"
  local edit=$work/run/supply-edit.sh
  cat >"$edit" <<'EDIT'
#!/bin/sh
set -e
sed -i "s/greeting::message(\"server[^\"]*\")/greeting::message(\"server $(date +%s%N)\")/" "$1/src/server.cpp"
EDIT
  chmod +x "$edit"
  for dir in "$on" "$off"; do cmake --build "$dir" --target cross-hello-push cross-hello-assembled-push -j3 >/dev/null; done
  local prepare="$edit $src $on $off '$staged'"
  hyperfine --runs 5 --export-json "$work/run/supply.json" --prepare "$prepare" \
    -n "dockerfile off" "cmake --build $off --target cross-hello-push -j3" \
    -n "dockerfile on" "cmake --build $on --target cross-hello-push -j3" \
    -n "assembled off" "cmake --build $off --target cross-hello-assembled-push -j3" \
    -n "assembled on" "cmake --build $on --target cross-hello-assembled-push -j3" >/dev/null
  local log=$services/registry.log requests=()
  for run in "$off cross-hello-push" "$on cross-hello-push" "$off cross-hello-assembled-push" "$on cross-hello-assembled-push"; do
    eval "$prepare"
    local before; before=$(grep -c '" [0-9][0-9][0-9] ' "$log" || true)
    cmake --build ${run% *} --target ${run#* } -j3 >/dev/null
    requests+=("$(( $(grep -c '" [0-9][0-9][0-9] ' "$log") - before ))")
  done
  local d0 d1 a0 a1
  d0=$(mean "$work/run/supply.json" "dockerfile off") d1=$(mean "$work/run/supply.json" "dockerfile on")
  a0=$(mean "$work/run/supply.json" "assembled off") a1=$(mean "$work/run/supply.json" "assembled on")
  report "9. examples/cross republished after an edit (3 platforms), with SBOM and provenance against without" \
    "Dockerfile path $(secs "$d0") → $(secs "$d1"), ${requests[0]} → ${requests[1]} requests; assembled $(secs "$a0") → $(secs "$a1"), ${requests[2]} → ${requests[3]} requests" \
    "Dockerfile +$(awk -v a="$d0" -v b="$d1" 'BEGIN { printf "%.0f", (b / a - 1) * 100 }')% time, +$(( (requests[1] - requests[0]) / 3 )) requests per platform; assembled +$(awk -v a="$a0" -v b="$a1" 'BEGIN { printf "%.0f", (b / a - 1) * 100 }')%, +$(( (requests[3] - requests[2]) / 3 )) per platform" \
    "≤ 10% time, constant requests per platform"
}

# What a user waits for after a one-line edit of one program of examples/cross (assembled, 3 platforms,
# SBOM and provenance on): `cmake --build --target cross-hello-assembled-push -j3`, which compiles,
# stages, builds, pushes and publishes, against its floor: building the changed programs alone for the
# three platforms, as the push schedules them (this build's hello_cli and hello_server at -j3 beside
# the cross sub-builds' own, one sub-build at a time). The edit only touches the source: nothing is
# compiled before the timing. A third command is the push with what the stage and push steps remember
# between runs deleted first (dpkg's and git's answers), as every push was before they kept them. On a
# machine shared with other work, load shifts between one command's series and the next: the three
# run in turn, round after round, and the medians are compared.
row_edit() {
  local src=$work/run/edit-src dir=$work/run/edit rounds=${EDIT_ROUNDS:-7}
  rm -rf "$src"; cp -r "$root/examples/cross" "$src"
  configure "$src" "$dir" -DCMAKE_BUILD_TYPE=Release -DCROSS_HELLO_ASSEMBLED_IMAGE=ON \
    -DCROSS_HELLO_REPOSITORY="$REGISTRY/bench/edit" "-DCROSS_HELLO_CROSS_ARGS=-DMULTIARCH_IMAGE_SOURCE_DIR=$root"
  cmake --build "$dir" --target cross-hello-assembled-push -j3 >/dev/null
  local floor=$work/run/edit-floor.sh
  programs_script "$dir" "$floor"
  local times=$work/run/edit-times.txt round variant t0
  : >"$times"
  for ((round = 0; round < rounds; round++)); do
    for variant in floor push forgotten; do
      edit_server "$src"
      [[ $variant != forgotten ]] || find "$dir" \( -name 'stage-*.packages.json' -o -name source-revision.json \) -delete
      t0=$(now)
      if [[ $variant == floor ]]; then "$floor"; else cmake --build "$dir" --target cross-hello-assembled-push -j3 >/dev/null; fi
      echo "$variant $(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')" >>"$times"
    done
  done
  median() { awk -v v="$1" '$1 == v { print $2 }' "$times" | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
  local f p q
  f=$(median floor) p=$(median push) q=$(median forgotten)
  report "11. examples/cross after a one-line edit: image-push against building the changed programs alone (3 platforms, assembled, SBOM and provenance on; medians of $rounds rounds)" \
    "programs alone $(secs "$f"); image-push $(secs "$p"); image-push asking dpkg and git again $(secs "$q")" \
    "image-push is $(ratio "$p" "$f")× the build (asking again: $(ratio "$q" "$f")×)" "≤ 1.3×"
}

# The same image made and published by buildah, the daemonless peer a user would otherwise pick: per
# platform from scratch, a copy of the same staged tree (what this project's stage step made, RUNTIME
# included), the same config (entrypoint, env, user, workdir, port, label), commit and push, then
# `buildah manifest` create, add and push of the list; as root, in a storage of its own (vfs). Ours is
# examples/cross's assembled image (SBOM and provenance on; buildah makes neither). A first publish
# (ours from a new repository with the helper's layout and layer cache removed; buildah from an empty
# storage to a new repository) and a publish after a one-line edit of one program, compiled and staged
# for both before the timing: the floor here is the other tool's time for the same content.
row_buildah() {
  command -v buildah >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah >/dev/null
  local src=$work/run/buildah-src dir=$work/run/buildah store=$work/run/buildah-store
  rm -rf "$src" "$store"; cp -r "$root/examples/cross" "$src"
  configure "$src" "$dir" -DCMAKE_BUILD_TYPE=Release -DCROSS_HELLO_ASSEMBLED_IMAGE=ON \
    -DCROSS_HELLO_REPOSITORY="$REGISTRY/bench/ours" "-DCROSS_HELLO_CROSS_ARGS=-DMULTIARCH_IMAGE_SOURCE_DIR=$root"
  local staged="cross-hello-assembled-stage-linux-amd64 cross-hello-compile-linux-arm64 cross-hello-compile-linux-arm-v7"
  cmake --build "$dir" --target $staged >/dev/null
  local state=$dir/multiarch-image/cross-hello-assembled script=$work/run/buildah.sh
  cat >"$script" <<SCRIPT
#!/bin/sh
# buildah.sh REPOSITORY: the three platforms' images and their list, pushed to REPOSITORY.
set -e
b() { buildah --root $store/root --runroot $store/run --storage-driver vfs "\$@"; }
for p in amd64:amd64: arm64:arm64: arm-v7:arm:v7; do
  suffix=\${p%%:*} rest=\${p#*:} arch=\${rest%%:*} variant=\${rest#*:}
  ctr=\$(b from --quiet scratch)
  b copy --quiet "\$ctr" "$state/context/.multiarch-stage/linux-\$suffix/" /
  b config --os linux --arch "\$arch" \${variant:+--variant "\$variant"} --entrypoint '["/usr/local/bin/hello_server"]' \\
    --env GREETING_STYLE=plain --user 65532:65532 --workingdir /srv --port 8080/tcp \\
    --label org.opencontainers.image.source=https://example.com/cross-hello "\$ctr"
  b commit --quiet "\$ctr" "bench/buildah:\$suffix" >/dev/null
  b rm "\$ctr" >/dev/null
  b push --quiet --tls-verify=false "bench/buildah:\$suffix" "docker://\$1:\$suffix"
done
b manifest rm bench/buildah:list >/dev/null 2>&1 || true
b manifest create bench/buildah:list >/dev/null
for suffix in amd64 arm64 arm-v7; do b manifest add --tls-verify=false bench/buildah:list "docker://\$1:\$suffix" >/dev/null; done
b manifest push --quiet --all --tls-verify=false bench/buildah:list "docker://\$1:latest"
SCRIPT
  chmod +x "$script"
  "$script" "$REGISTRY/bench/buildah-check" >/dev/null   # it works before it is timed
  hyperfine --runs 3 --export-json "$work/run/buildah-first.json" \
    --prepare "cmake $dir -DCROSS_HELLO_REPOSITORY=$REGISTRY/bench/first-\$(date +%s%N) >/dev/null && rm -rf $state/oci $state/layer-cache" \
    -n ours "cmake --build $dir --target cross-hello-assembled-push -j3" \
    --prepare "rm -rf $store" -n buildah "$script $REGISTRY/bench/buildah-first-\$(date +%s%N)" >/dev/null
  local edit=$work/run/buildah-edit.sh
  cat >"$edit" <<EDIT
#!/bin/sh
set -e
sed -i "s/greeting::message(\"server[^\"]*\")/greeting::message(\"server \$(date +%s%N)\")/" "$src/src/server.cpp"
cmake --build "$dir" --target $staged >/dev/null
EDIT
  chmod +x "$edit"
  cmake --build "$dir" --target cross-hello-assembled-push -j3 >/dev/null
  "$script" "$REGISTRY/bench/buildah" >/dev/null
  hyperfine --runs 5 --export-json "$work/run/buildah-edit.json" --prepare "$edit" \
    -n ours "cmake --build $dir --target cross-hello-assembled-push -j3" \
    -n buildah "$script $REGISTRY/bench/buildah" >/dev/null
  local f1 f2 e1 e2
  f1=$(mean "$work/run/buildah-first.json" ours) f2=$(mean "$work/run/buildah-first.json" buildah)
  e1=$(mean "$work/run/buildah-edit.json" ours) e2=$(mean "$work/run/buildah-edit.json" buildah)
  report "12. examples/cross (3 platforms) published by buildah against ours (assembled, SBOM and provenance on; buildah makes neither), the same staged trees and config" \
    "first publish: ours $(secs "$f1"), buildah $(secs "$f2"); after a one-line edit: ours $(secs "$e1"), buildah $(secs "$e2")" \
    "ours is $(ratio "$f2" "$f1")× faster first, $(ratio "$e2" "$e1")× after an edit" "≥ 3× after an edit"
}

# What DEBUG_SYMBOLS ATTACH takes out of an image, in bytes (no time is measured): examples/cross built
# RelWithDebInfo (3 platforms, assembled, RUNTIME), staged and built with KEEP, then ATTACH (one build
# tree, reconfigured: the same programs): each platform's image (its compressed layers and config, as
# the build record states it), the project's staged programs and library in it, and the debug files
# ATTACH keeps beside it. Then a real program the same way: this helper, built RelWithDebInfo into an
# amd64 image (bench/symbols).
row_symbols() {
  local src=$work/run/symbols-src cross=$work/run/symbols-cross real=$work/run/symbols-helper
  rm -rf "$src"; cp -r "$root/examples/cross" "$src"
  # weigh DIR IMAGE MODE: one line per platform, "<suffix> <image bytes> <project files' bytes> <debug bytes>"
  weigh() {
    cmake "$1" -DMULTIARCH_IMAGE_DEBUG_SYMBOLS="$3" >/dev/null
    cmake --build "$1" --target "$2-build" -j3 >/dev/null
    local state=$1/multiarch-image/$2 record suffix files debug
    for record in "$state"/build-*.json; do
      suffix=$(basename "$record" .json); suffix=${suffix#build-}
      files=$(jq -r '.files[] | select(.kind == "program" or .kind == "library") | .path' "$state/stage-$suffix.files.json" |
                sed "s|^|$state/context/.multiarch-stage/$suffix|" | xargs stat -c %s | awk '{ s += $1 } END { print s }')
      debug=$(find "$state/stage-$suffix.debug" -name '*.debug' -type f -exec stat -c %s {} + 2>/dev/null | awk '{ s += $1 } END { print s + 0 }')
      echo "$suffix $(jq .image_size "$record") $files $debug"
    done
  }
  mb() { awk -v b="$1" 'BEGIN { printf "%.2f MB", b / 1e6 }'; }
  configure "$src" "$cross" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCROSS_HELLO_ASSEMBLED_IMAGE=ON \
    -DCROSS_HELLO_REPOSITORY="$REGISTRY/bench/symbols" "-DCROSS_HELLO_CROSS_ARGS=-DMULTIARCH_IMAGE_SOURCE_DIR=$root"
  local keep attach measured="" result=""
  keep=$(weigh "$cross" cross-hello-assembled KEEP) attach=$(weigh "$cross" cross-hello-assembled ATTACH)
  while read -r suffix image files _; do
    read -r _ image2 files2 debug2 < <(grep "^$suffix " <<<"$attach")
    measured+="${measured:+; }$suffix: image $(mb "$image") → $(mb "$image2"), the project's files $(mb "$files") → $(mb "$files2"), debug files $(mb "$debug2")"
    result+="${result:+, }$suffix $(ratio "$image" "$image2")×"
  done <<<"$keep"
  report "13a. examples/cross built RelWithDebInfo (3 platforms, assembled, RUNTIME), KEEP → ATTACH: each image (compressed layers and config), the project's files in it, the debug files published beside it" \
    "$measured" "images smaller by $result" "the debug information out of the image"
  # Not configure(): the helper must be a target of that build, so no MULTIARCH_IMAGE_HELPER is named.
  cmake -S "$root/bench/symbols" -B "$real" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMULTIARCH_IMAGE_SOURCE_DIR="$root" \
    -DSYMBOLS_REPOSITORY="$REGISTRY/bench/helper" >/dev/null
  keep=$(weigh "$real" helper-image KEEP) attach=$(weigh "$real" helper-image ATTACH)
  read -r _ image files _ <<<"$keep"
  read -r _ image2 files2 debug2 <<<"$attach"
  report "13b. a real program: this helper (C++20, Boost, OpenSSL, zlib) built RelWithDebInfo into an amd64 image (RUNTIME: with Boost's and OpenSSL's libraries), KEEP → ATTACH" \
    "image $(mb "$image") → $(mb "$image2"), the program $(mb "$files") → $(mb "$files2"), its debug file $(mb "$debug2")" \
    "image $(ratio "$image" "$image2")× smaller, the program $(ratio "$files" "$files2")×" "the debug information out of the image"
}

# A registry 50 ms away (25 ms each way, and per 16 KiB of a body, through the fault proxy in HTTP
# mode, which logs each request's start, end and User-Agent): examples/cross (assembled, 3 platforms,
# SBOM and provenance on) republished after a one-line edit of one program. A step's requests carry
# its User-Agent (the step and platform); those that did not overlap in time waited for each other, and
# the longest chain of them (greedy by end time) is the step's round trips. The critical path is the
# manifest step's round trips after those of the push it waited for last. The protocol's minimum for
# that work, with distribution (no monolithic `POST ?digest=`): an upload session and its PUT for the
# changed layer (the config beside it), the platform's manifest after its blobs, the index after the
# manifests, its read-back after it: 5. The documents (SBOM, provenance) can overlap the image's.
# Also reported: the longest chain across all steps, which also strings together requests of
# platforms whose local work (stage, build) ended at other times.
row_far() {
  local src=$work/run/far-src build=$work/run/far-build timing=$work/run/far-timing.log
  rm -rf "$src" "$timing"; cp -r "$root/examples/cross" "$src"
  "$proxy" --target "$REGISTRY" --port-file "$work/run/far2.port" --log "$work/run/far2.log" --http --delay-ms 25 \
    --timing-log "$timing" &
  local far_pid=$!
  wait_for 5 "the delaying proxy" file_filled "$work/run/far2.port"
  local far=127.0.0.1:$(cat "$work/run/far2.port")
  configure "$src" "$build" -DCMAKE_BUILD_TYPE=Release -DCROSS_HELLO_ASSEMBLED_IMAGE=ON \
    "-DCROSS_HELLO_CROSS_ARGS=-DMULTIARCH_IMAGE_SOURCE_DIR=$root" -DCROSS_HELLO_REPOSITORY="$far/bench/far"
  cmake --build "$build" --target cross-hello-assembled-push -j3 >/dev/null
  edit_server "$src"
  # The programs first, so that the publish alone is timed.
  cmake --build "$build" --target cross-hello-assembled-stage-linux-amd64 cross-hello-compile-linux-arm64 \
    cross-hello-compile-linux-arm-v7 -j3 >/dev/null
  : >"$timing"
  local t0; t0=$(date +%s%N)
  cmake --build "$build" --target cross-hello-assembled-push -j3 >/dev/null
  local wall_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
  kill "$far_pid" 2>/dev/null; wait "$far_pid" 2>/dev/null || true
  local requests chain steps critical
  requests=$(grep -c . "$timing")
  chain=$(cut -f1 "$timing" | sort -k2,2n | awk '$1 >= last { n++; last = $2 } END { print n + 0 }')
  # Per step: "<User-Agent>\t<round trips>\t<end of its last request>", by end.
  steps=$(awk -F'\t' '{ split($1, f, " "); print $2 "\t" f[1] "\t" f[2] }' "$timing" | sort -t$'\t' -k1,1 -k3,3n |
    awk -F'\t' '$1 != agent { if (agent != "") print agent "\t" n "\t" end; agent = $1; n = 0; last = 0; end = 0 }
                 $2 >= last { n++; last = $3 } $3 > end { end = $3 } END { if (agent != "") print agent "\t" n "\t" end }' |
    sort -t$'\t' -k3,3n)
  critical=$(awk -F'\t' '/\(manifest/ { m = $2 } /\(push/ { p = $2 } END { print m + p }' <<<"$steps")
  local per_step
  per_step=$(awk -F'\t' '{ sub(/^multiarch-image\/[^ ]* \(/, "", $1); sub(/\)$/, "", $1); sub(/; /, " ", $1); printf "%s%s: %d", sep, $1, $2; sep = ", " }' <<<"$steps")
  report "14. examples/cross republished after an edit (assembled, 3 platforms, SBOM and provenance on) to a registry 50 ms away" \
    "$requests requests in $(awk -v m="$wall_ms" 'BEGIN { printf "%.2f s", m / 1000 }'); round trips per step (in the order they ended): $per_step; on the critical path (the last push, then the manifest step): $critical; the longest chain across steps: $chain" \
    "$(awk -v c="$critical" 'BEGIN { printf "%.1f", c / 5 }')× the protocol's minimum of 5" "within 1.5× of the minimum"
}

echo "| row | measured | result | goal |"
echo "| --- | --- | --- | --- |"
for row in "${rows[@]}"; do "row_$row"; done
echo
echo "(machine: $(nproc) cores, $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo); results in $results)"
