#!/usr/bin/env bash
# Times file access through `vdisk mount` (a dynamic VHD and a depth-3 chain of the same data)
# beside vhdimount (reads only), qemu-storage-daemon's FUSE export when it is installed, and the
# raw file itself (the limit), with fio, in one run. Prints a table.
#   bench/fuse.sh [WORKDIR] [SIZE_MIB]      (defaults: /var/tmp/vdisk-fuse, 2048)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-/var/tmp/vdisk-fuse}"
size="${2:-2048}"
"$here/scripts/setup.sh"
if ! command -v qemu-storage-daemon >/dev/null && [[ $(id -u) -eq 0 ]]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-common >/dev/null || true
fi
vdisk="$here/vdisk"
"$vdisk" --version >/dev/null
rm -rf "$work" && mkdir -p "$work"
cleanup() {
  fusermount -u -z "$work/mnt-qsd/disk" 2>/dev/null || true
  pkill -f "qemu-storage-daemon.*$work" 2>/dev/null || true
  for m in "$work"/mnt-*; do fusermount -u -z "$m" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
mkdir -p mnt-raw mnt-dyn mnt-chain mnt-vhdi mnt-qsd
"$vdisk" create --size "${size}M" dyn.vhd >/dev/null
"$vdisk" io dyn.vhd -c "write -P 0x5a 0 ${size}M" >/dev/null
"$vdisk" convert -O raw dyn.vhd raw.img >/dev/null
third=$((size / 3))
"$vdisk" create --size "${size}M" c0.vhd >/dev/null
"$vdisk" io c0.vhd -c "write -P 0x5a 0 ${third}M" >/dev/null
"$vdisk" snapshot c0.vhd c1.vhd >/dev/null
"$vdisk" io c1.vhd -c "write -P 0x5a ${third}M ${third}M" >/dev/null
"$vdisk" snapshot c1.vhd c2.vhd >/dev/null
"$vdisk" io c2.vhd -c "write -P 0x5a $((2 * third))M $((size - 2 * third))M" >/dev/null

"$vdisk" mount raw.img mnt-raw >/dev/null
"$vdisk" mount dyn.vhd mnt-dyn >/dev/null
"$vdisk" mount c2.vhd mnt-chain >/dev/null
vhdimount dyn.vhd mnt-vhdi >/dev/null
qsd=""
if command -v qemu-storage-daemon >/dev/null; then
  touch mnt-qsd/disk
  cp --sparse=always dyn.vhd qsd.vhd
  qemu-storage-daemon --blockdev driver=file,node-name=f,filename="$work/qsd.vhd" \
    --blockdev driver=vpc,node-name=d,file=f \
    --export type=fuse,id=e,node-name=d,mountpoint=mnt-qsd/disk,writable=on --daemonize
  qsd=mnt-qsd/disk
fi

fio_raw() { # file rw bs extra... -> "MiB/s IOPS"
  local f=$1 rw=$2 bs=$3; shift 3
  fio --name=t --filename="$f" --size="${size}M" --rw="$rw" --bs="$bs" --ioengine=psync \
    --direct=0 --group_reporting --output-format=terse "$@" 2>/dev/null |
    awk -F';' -v rw="$rw" '{ if (rw ~ /write/) { print int($48/1024), $49 } else { print int($7/1024), $8 } }'
}
shown() { echo "$1 MiB/s, $2 IOPS"; }
declare -A seq rand2

row() { # key label file
  local key=$1 label=$2 f=$3
  sync; echo 3 >/proc/sys/vm/drop_caches 2>/dev/null || true
  local sr sw rr rr2 rw
  sr=$(fio_raw "$f" read 1M)
  seq[$key]=${sr%% *}
  sw=$( [[ $label == vhdimount* ]] && echo "n/a (read-only)" || shown $(fio_raw "$f" write 1M))
  rr=$(fio_raw "$f" randread 4k --runtime=10 --time_based)
  rr2=$(fio_raw "$f" randread 4k --runtime=10 --time_based --numjobs=2)
  rand2[$key]=${rr2##* }
  rw=$( [[ $label == vhdimount* ]] && echo "n/a" || shown $(fio_raw "$f" randwrite 4k --runtime=10 --time_based))
  echo "| $label | $(shown $sr) | $sw | $(shown $rr) | $(shown $rr2) | $rw |"
}

echo
echo "bench/fuse.sh: ${size} MiB, fully written, $(nproc) cores, $(date -u +%F); fio psync, page cache allowed"
echo
echo "| path | sequential 1 MiB read | sequential 1 MiB write | random 4 KiB read (1 job) | random 4 KiB read (2 jobs) | random 4 KiB write |"
echo "|---|---|---|---|---|---|"
row file "raw file (the limit)" raw.img
row pass "vdisk mount of the raw file (a jnr-fuse passthrough: no VHD layer)" mnt-raw/disk
row dyn "vdisk mount, dynamic VHD" mnt-dyn/disk
row chain "vdisk mount, depth-3 chain" mnt-chain/disk
row vhdi "vhdimount, dynamic VHD" mnt-vhdi/vhdi1
[[ -n "$qsd" ]] && row qsd "qemu-storage-daemon FUSE export" "$qsd"

# the issue's targets for the mount, judged in this run
verdict() { # verdict LABEL A B TARGET -> A / B against TARGET
  awk -v l="$1" -v a="$2" -v b="$3" -v t="$4" 'BEGIN {
    r = (b > 0 ? a / b : 0)
    printf "%-70s %6.2f x  (target >= %s: %s)\n", l, r, t, (r >= t ? "met" : "missed") }'
}
echo
if [[ -n "$qsd" ]]; then
  verdict "sequential 1 MiB reads, vdisk mount / qemu-storage-daemon FUSE" "${seq[dyn]}" "${seq[qsd]}" 2
fi
verdict "sequential 1 MiB reads, vdisk mount / jnr-fuse passthrough of the raw file" "${seq[dyn]}" "${seq[pass]}" 0.8
if [[ -n "$qsd" ]]; then
  verdict "random 4 KiB reads, 2 jobs, vdisk mount / qemu-storage-daemon FUSE" "${rand2[dyn]}" "${rand2[qsd]}" 5
fi
verdict "sequential 1 MiB reads, depth-3 chain / dynamic VHD" "${seq[chain]}" "${seq[dyn]}" 0.9
"$vdisk" umount mnt-raw
"$vdisk" umount mnt-dyn
"$vdisk" umount mnt-chain
fusermount -u mnt-vhdi
