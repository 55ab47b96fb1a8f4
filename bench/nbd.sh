#!/usr/bin/env bash
# Times NBD serving in one run: `vdisk serve` of a dynamic VHD (half of it data, half holes)
# beside qemu-nbd serving the same VHD (-f vpc) and its raw copy (-f raw), on Unix sockets, read
# by nbdcopy to null: with 4 connections (its default) and with 1, best of three after a warm-up
# pass. Prints MiB/s and vdisk's ratio to qemu-nbd on the VHD. Then writes: nbdcopy --flush of
# the raw copy (half data, half zeros) into a new empty dynamic VHD served by each, best of two.
#   bench/nbd.sh [WORKDIR] [SIZE_MIB]      (defaults: /var/tmp/vdisk-nbd, 2048)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-/var/tmp/vdisk-nbd}"
size="${2:-2048}"
"$here/scripts/setup.sh"
vdisk="$here/vdisk"
"$vdisk" --version >/dev/null
rm -rf "$work" && mkdir -p "$work"
cleanup() {
  pkill -f "serve --listen unix:$work" 2>/dev/null || true
  pkill -f "qemu-nbd.*$work" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
"$vdisk" create --size "${size}M" dyn.vhd >/dev/null
half=$((size / 2))
# data in every other 64 MiB run: holes for the sparse paths to skip
for ((at = 0; at < size; at += 128)); do
  "$vdisk" io dyn.vhd -c "write -P 0x5a ${at}M 64M" >/dev/null
done
"$vdisk" convert -O raw dyn.vhd raw.img >/dev/null
cp dyn.vhd qdyn.vhd
# a depth-3 chain holding the same bytes: the base has them all, each child rewrites a share
"$vdisk" create --size "${size}M" c0.vhd >/dev/null
for ((at = 0; at < size; at += 128)); do
  "$vdisk" io c0.vhd -c "write -P 0x5a ${at}M 64M" >/dev/null
done
"$vdisk" snapshot c0.vhd c1.vhd >/dev/null
for ((at = 0; at < size; at += 256)); do
  "$vdisk" io c1.vhd -c "write -P 0x5a ${at}M 4M" >/dev/null
done
"$vdisk" snapshot c1.vhd c2.vhd >/dev/null
for ((at = 64; at < size; at += 256)); do
  "$vdisk" io c2.vhd -c "write -P 0x5a $((at - 8))M 4M" >/dev/null
done

wait_sock() { for _ in $(seq 200); do [[ -S $1 ]] && return 0; sleep 0.05; done; return 1; }
rate() { # rate URI CONNECTIONS -> MiB/s of nbdcopy to null:
  local t0 t1
  sync; echo 3 > /proc/sys/vm/drop_caches 2>/dev/null || true
  t0=$(date +%s.%N); nbdcopy --connections="$2" "$1" null: ; t1=$(date +%s.%N)
  awk -v s="$size" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", s / (b - a) }'
}

"$vdisk" serve --listen "unix:$work/v.sock" dyn.vhd >/dev/null 2>&1 &
"$vdisk" serve --listen "unix:$work/c.sock" c2.vhd >/dev/null 2>&1 &
qemu-nbd -t -e 8 -f vpc -k "$work/q.sock" -x qdyn.vhd qdyn.vhd >/dev/null 2>&1 &
qemu-nbd -t -e 8 -f raw -k "$work/r.sock" -x raw.img raw.img >/dev/null 2>&1 &
wait_sock v.sock && wait_sock c.sock && wait_sock q.sock && wait_sock r.sock

printf '%-28s %12s %12s\n' "nbdcopy to null: (MiB/s)" "4 conns" "1 conn"
for row in "vdisk serve (VHD)|nbd+unix:///dyn.vhd?socket=$work/v.sock" \
           "vdisk serve (depth-3 chain)|nbd+unix:///c2.vhd?socket=$work/c.sock" \
           "qemu-nbd -f vpc (VHD)|nbd+unix:///qdyn.vhd?socket=$work/q.sock" \
           "qemu-nbd -f raw (raw copy)|nbd+unix:///raw.img?socket=$work/r.sock"; do
  name=${row%%|*}; uri=${row#*|}
  nbdcopy "$uri" null: # warm-up: page cache and JIT alike, then best of three
  r4=0; r1=0
  for _ in 1 2 3; do
    r=$(rate "$uri" 4); ((r > r4)) && r4=$r
    r=$(rate "$uri" 1); ((r > r1)) && r1=$r
  done
  printf '%-28s %12s %12s\n' "$name" "$r4" "$r1"
  [[ $name == "vdisk serve (VHD)" ]] && v4=$r4 && v1=$r1
  [[ $name == *chain* ]] && c4=$r4 && c1=$r1
  [[ $name == *vpc* ]] && q4=$r4 && q1=$r1
done
awk -v a="$v4" -v b="$q4" -v c="$v1" -v d="$q1" -v e="$c4" -v f="$c1" 'BEGIN {
  printf "vdisk / qemu-nbd on the VHD: %.2f x (4 connections), %.2f x (1 connection)\n", a / b, c / d
  printf "vdisk depth-3 chain / dynamic VHD: %.2f x (4 connections), %.2f x (1 connection)\n", e / a, f / c }'

# writes: a fresh empty VHD per run, nbdcopy of the raw copy into it, flushed at the end
wrate() { # wrate SERVER(vdisk|qemu) -> MiB/s
  local t0 t1 sock="$work/w.sock"
  rm -f w.vhd "$sock"
  "$vdisk" create --size "${size}M" w.vhd >/dev/null
  if [[ $1 == vdisk ]]; then
    "$vdisk" serve --listen "unix:$sock" w.vhd >/dev/null 2>&1 &
  else
    qemu-nbd -t -e 8 -f vpc -k "$sock" -x w.vhd w.vhd >/dev/null 2>&1 &
  fi
  local pid=$!
  wait_sock "$sock"
  sync
  t0=$(date +%s.%N); nbdcopy --flush raw.img "nbd+unix:///w.vhd?socket=$sock"; t1=$(date +%s.%N)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  awk -v s="$size" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", s / (b - a) }'
}
wv=0; wq=0
for _ in 1 2; do
  r=$(wrate vdisk); ((r > wv)) && wv=$r
  r=$(wrate qemu); ((r > wq)) && wq=$r
done
printf '%-28s %12s\n' "nbdcopy --flush into a new VHD (MiB/s)" ""
printf '%-28s %12s\n' "vdisk serve" "$wv" "qemu-nbd -f vpc" "$wq"
awk -v a="$wv" -v b="$wq" 'BEGIN { printf "vdisk / qemu-nbd writing: %.2f x\n", a / b }'
