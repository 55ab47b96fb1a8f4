#!/usr/bin/env bash
# Installs what vdisk's build and tests need when it is missing (Debian, as root):
# a JDK and Maven to build, and the real tools the interop tests run against (qemu-utils,
# libvhdi-utils, xva-img, e2fsprogs, fio, libnbd-bin for the NBD server's clients, and Node.js
# with Xen Orchestra's vhd-lib from the npm registry for the delta-backup interop test, and
# fdisk's sfdisk to make the partition tables vdisk mount lists).
# --build installs only what building and running vdisk needs (a JDK, Maven, FUSE), for the demo.
# The ./vdisk launcher never installs anything: this script is the developer's tool.
set -euo pipefail
need=()
here=$(cd "$(dirname "$0")" && pwd)
if [[ ${1:-} == --build ]]; then
  for cmd in java mvn fusermount; do
    command -v "$cmd" >/dev/null 2>&1 || need+=("$cmd")
  done
  [[ ${#need[@]} -eq 0 ]] && exit 0
  if [[ $(id -u) -ne 0 ]]; then
    echo "setup: missing ${need[*]}; run as root to install them with apt-get" >&2
    exit 1
  fi
  echo "setup: installing packages for: ${need[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends openjdk-17-jdk-headless maven fuse libfuse2 >/dev/null
  exit 0
fi
xo() {
  # Xen Orchestra's vhd-lib, pinned by scripts/xo/package-lock.json
  if [[ ! -d "$here/xo/node_modules/vhd-lib" ]]; then
    echo "setup: installing Xen Orchestra's vhd-lib (npm ci in scripts/xo)" >&2
    npm ci --prefix "$here/xo" --no-audit --no-fund --loglevel=error >/dev/null
  fi
}
for cmd in java mvn qemu-img qemu-io vhdiinfo vhdimount xva-img fusermount fsck.ext4 debugfs fio nbdinfo nbdcopy node npm openssl sfdisk dpkg-deb; do
  command -v "$cmd" >/dev/null 2>&1 || need+=("$cmd")
done
[[ -e /usr/lib/x86_64-linux-gnu/libfuse.so.2 || -n "$(ldconfig -p 2>/dev/null | grep 'libfuse.so.2 ')" ]] || need+=(libfuse2)
if [[ ${#need[@]} -eq 0 ]]; then
  xo
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "setup: missing ${need[*]}; run as root to install them with apt-get" >&2
  exit 1
fi
echo "setup: installing packages for: ${need[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends \
  openjdk-17-jdk-headless maven \
  fuse libfuse2 qemu-utils libvhdi-utils xva-img e2fsprogs fio libnbd-bin nodejs npm openssl \
  fdisk >/dev/null
xo
