#!/usr/bin/env bash
# Owner, mode and capabilities per path (tests/projects/permissions): a program staged from TARGETS
# with the target properties MULTIARCH_IMAGE_OWNER 0:nonroot, _MODE 0750 and _CAPABILITIES
# cap_net_bind_service, run as 65532:65532 (USER), binds port 80 in its container under docker and
# podman, and the same program without the property (the image bind80-plain) cannot; both read a
# FILES file of mode 0640 through their group and write into /var/lib/bind80, a DIRECTORIES entry
# owned by nonroot. GNU tar lists every layer's owners and modes, and extracts the capability of the
# program (and of a FILES entry with CAPABILITIES) where getcap reads it, on amd64 and arm64 (a cross
# sub-build). A capability the helper must refuse (a FILES source named by a generator expression,
# known only at build time) fails the build with nothing published.
. "$(dirname "$0")/lib.sh"
export SOURCE_DATE_EPOCH=1700000000
repository=$REGISTRY/e2e/bind80
platforms=(linux/amd64 linux/arm64)
cp -r "$repo_root/tests/projects/permissions" "$work/src"
configure "$work/src" "$work/b" "-DMULTIARCH_IMAGE_SOURCE_DIR=$repo_root" "-DBIND80_REPOSITORY=$repository" >/dev/null

step "both images published"
cmake --build "$work/b" --target bind80-push bind80-plain-push -j2 >"$work/push.log" 2>&1 ||
  fail "publish failed:\n$(tail -30 "$work/push.log")"

step "GNU tar: owners and modes in the headers, the capabilities extracted as setcap would have set them"
for platform in "${platforms[@]}"; do
  suffix=$(tr / - <<<"$platform")
  layout=$work/b/multiarch-image/bind80/oci
  manifest=$(jq -r '.image_id' "$work/b/multiarch-image/bind80/build-$suffix.json")
  listing=""
  mkdir -p "$work/root-$suffix"
  for layer in $(jq -r '.layers[].digest' "$layout/blobs/sha256/${manifest#sha256:}"); do
    blob=$layout/blobs/sha256/${layer#sha256:}
    listing+=$(tar --numeric-owner --xattrs -tvzf "$blob")$'\n'
    tar --xattrs --xattrs-include='security.capability' --numeric-owner -xzf "$blob" -C "$work/root-$suffix"
  done
  for expected in "-rwxr-x--- 0/65532 .* usr/local/bin/bind80" "-rw-r----- 0/65532 .* etc/bind80.conf" \
                  "drwxr-x--- 65532/65532 .* var/lib/bind80/" "-rwxr-x--- 0/0 .* usr/local/libexec/bind80-raw" \
                  "drwxr-xr-x 0/0 .* var/lib/"; do
    # Room for the mark GNU tar may put after a mode (ACLs, SELinux contexts).
    grep -qE -- "^${expected/ /.? +}\$" <<<"$listing" || fail "$platform: no entry \`$expected\` in:\n$listing"
    echo "ok: $platform: $expected"
  done
  assert_eq "$(getcap "$work/root-$suffix/usr/local/bin/bind80" | awk '{print $2}')" "cap_net_bind_service=ep" \
    "$platform: getcap of the program GNU tar extracted"
  assert_eq "$(getcap "$work/root-$suffix/usr/local/libexec/bind80-raw" | awk '{print $2}')" "cap_net_raw=ep" \
    "$platform: getcap of the FILES entry with CAPABILITIES"
  file "$work/root-$suffix/usr/local/bin/bind80" | grep -q "$([[ $platform == linux/arm64 ]] && echo aarch64 || echo x86-64)" ||
    fail "$platform: the program is not built for it"
done

# Runs IMAGE for PLATFORM with ENGINE, ports below 1024 privileged in the container whatever the
# engine's default (docker 20.10 makes them all unprivileged unless told). The program's output on
# stdout; the pull's on stderr, kept in $work/run.err.
run() {  # run ENGINE IMAGE PLATFORM
  local options=(--rm --network=none --sysctl net.ipv4.ip_unprivileged_port_start=1024 --platform "$3")
  case $1 in
    docker) "$MULTIARCH_TEST_DOCKER" run --pull always "${options[@]}" "$2" 2>"$work/run.err" ;;
    podman)  # the limits as lib.sh's run_image gives them (podman's defaults exceed this machine's)
      podman run --pull always --tls-verify=false --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "${options[@]}" "$2" \
        2>"$work/run.err" ;;
  esac
}

step "as nonroot, port 80 is bound through the capability only (docker and podman, amd64)"
for engine in docker podman; do
  out=$(run $engine "$repository:latest" linux/amd64 </dev/null) ||
    fail "$engine: the program with the capability failed: $out\n$(cat "$work/run.err")"
  assert_eq "$out" "bound port 80 as uid 65532, state in /var/lib/bind80" "$engine, cap_net_bind_service"
  status=0
  out=$(run $engine "$repository-plain:latest" linux/amd64 </dev/null) || status=$?
  assert_eq "$status/$out" "1/cannot bind port 80 as uid 65532: Permission denied" "$engine, without the capability"
done

step "arm64 under emulation: runs as nonroot, reads its file, and the capability as far as binfmt allows"
# A binfmt entry without the C flag makes the kernel compute credentials from the interpreter (QEMU),
# not from the program: its file capabilities do not apply under emulation.
flags=$(sed -n 's/^flags: //p' /proc/sys/fs/binfmt_misc/qemu-aarch64)
status=0
out=$(run docker "$repository:latest" linux/arm64 </dev/null) || status=$?
if [[ $flags == *C* ]]; then
  assert_eq "$status/$out" "0/bound port 80 as uid 65532, state in /var/lib/bind80" "arm64 with the capability"
else
  assert_eq "$status/$out" "1/cannot bind port 80 as uid 65532: Permission denied" \
    "arm64 under QEMU without binfmt's C flag ($flags): the program ran as nonroot, read its 0640 file"
fi

step "a capability on a file nobody may execute, known only at build time: the build fails, nothing published"
configure "$work/src" "$work/b" -DBIND80_HOSTILE=ON >/dev/null
status=0
cmake --build "$work/b" --target bind80-hostile-push >"$work/hostile.log" 2>&1 || status=$?
[[ $status != 0 ]] || fail "the hostile build succeeded:\n$(tail -20 "$work/hostile.log")"
grep -F "capabilities cap_net_raw on a file nobody may execute (MODE 0644)" "$work/hostile.log" ||
  fail "the error does not say why:\n$(tail -20 "$work/hostile.log")"
! skopeo inspect --tls-verify=false --raw "docker://$repository-hostile:latest" >/dev/null 2>&1 ||
  fail "the refused image was published"
echo "ok: refused, and $repository-hostile has no image"
