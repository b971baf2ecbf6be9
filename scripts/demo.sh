#!/bin/bash
# arbor's main job, end to end, in a scratch folder:
#   build a small OS tree -> commit it to an archive repo -> inspect (log, ls, fsck) ->
#   serve it over HTTP (arbor's own trivial-httpd) -> pull it into a machine's sysroot ->
#   deploy it -> show status and the boot entries.
# Sets itself up first (npm packages, native addon, build). Run as root on Debian 12 + Node 20:
#   bash scripts/demo.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh --no-apt >/dev/null
A="$PWD/bin/arbor"
work=${1:-$(mktemp -d /tmp/arbor-demo.XXXXXX)}
mkdir -p "$work"
httpd_pid=""
cleanup() { if [ -n "$httpd_pid" ]; then kill "$httpd_pid" 2>/dev/null || true; fi; }
trap cleanup EXIT
step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "Build a small OS tree in $work/rootfs"
root="$work/rootfs"
rm -rf "$root"
mkdir -p "$root"/usr/{bin,lib/modules/6.1.0,etc/systemd/system} "$root"/usr/lib/os-release.d
printf '#!/bin/sh\necho "hello from arbor-demo"\n' >"$root/usr/bin/hello"; chmod 755 "$root/usr/bin/hello"
printf 'KERNEL-IMAGE-6.1.0' >"$root/usr/lib/modules/6.1.0/vmlinuz"
printf 'INITRAMFS-6.1.0' >"$root/usr/lib/modules/6.1.0/initramfs.img"
printf 'NAME="Arbor Demo OS"\nID=arbordemo\nPRETTY_NAME="Arbor Demo OS 1.0"\nVERSION_ID=1.0\n' >"$root/usr/lib/os-release"
ln -sf ../lib/os-release "$root/usr/etc/os-release"
printf 'demo-host\n' >"$root/usr/etc/hostname"
printf '[Service]\nExecStart=/usr/bin/hello\n' >"$root/usr/etc/systemd/system/hello.service"

step "Commit it to an archive repository (the build server)"
repo="$work/repo"
rm -rf "$repo"
"$A" init --repo="$repo" --mode=archive
commit=$("$A" commit --repo="$repo" -b demo/x86_64/stable -s "Demo OS 1.0" \
  --add-metadata-string=version=1.0 --bootable --timestamp="2026-01-01 00:00:00 +0000" "$root")
echo "commit $commit"
"$A" summary --repo="$repo" -u

step "Inspect it: log, ls, fsck"
"$A" log --repo="$repo" demo/x86_64/stable
"$A" ls --repo="$repo" -R demo/x86_64/stable /usr/bin /usr/lib/modules
"$A" fsck --repo="$repo"

step "Serve it over HTTP (arbor trivial-httpd on 127.0.0.1)"
portfile="$work/httpd.port"
rm -f "$portfile"
"$A" trivial-httpd --port-file="$portfile" -P 0 "$repo" &
httpd_pid=$!
for _ in $(seq 50); do [ -s "$portfile" ] && break; sleep 0.1; done
url="http://127.0.0.1:$(cat "$portfile")"
echo "serving $repo at $url"

step "Prepare a machine's sysroot, pull and deploy"
sysroot="$work/sysroot"
rm -rf "$sysroot"; mkdir -p "$sysroot"
"$A" admin init-fs --modern "$sysroot"
"$A" admin os-init --sysroot="$sysroot" demo
"$A" remote add --repo="$sysroot/ostree/repo" --no-gpg-verify origin "$url" demo/x86_64/stable
"$A" pull --repo="$sysroot/ostree/repo" origin demo/x86_64/stable
OSTREE_SYSROOT_DEBUG=mutable-deployments "$A" admin deploy --sysroot="$sysroot" --os=demo --karg=quiet origin:demo/x86_64/stable

step "Status"
"$A" admin status --sysroot="$sysroot"
echo
echo "Boot entries:"
cat "$sysroot"/boot/loader/entries/*.conf

step "Done: everything is in $work"
