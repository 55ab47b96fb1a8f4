#!/usr/bin/env bash
# Times NBD serving in one run: `vdisk serve` of a dynamic VHD (half of it data, half holes) and
# of a depth-3 chain holding the same bytes, beside qemu-nbd serving the same VHD (-f vpc) and its
# raw copy (-f raw), and qemu-storage-daemon's NBD export of the VHD, all on Unix sockets, read by
# nbdcopy to null: with 4 connections (its default) and with 1, from a dropped page cache ("cold":
# the disk is read) and from a warm one (the servers' own cost). Medians of ROUNDS runs (default
# 5) after a warm-up pass, the servers interleaved round by round. Prints MiB/s of the virtual
# size, then the issue's targets judged in this run. Then random 4 KiB reads with fio's nbd engine
# (warm), and writes: nbdcopy --flush of the raw copy into a new empty dynamic VHD.
#   bench/nbd.sh [WORKDIR] [SIZE_MIB]      (defaults: /var/tmp/vdisk-nbd, 2048)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-/var/tmp/vdisk-nbd}"
size="${2:-2048}"
"$here/scripts/setup.sh"
if ! command -v qemu-storage-daemon >/dev/null && [[ $(id -u) -eq 0 ]]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends qemu-system-common >/dev/null
fi
vdisk="$here/vdisk"
"$vdisk" --version >/dev/null
rm -rf "$work" && mkdir -p "$work"
cleanup() {
  pkill -f "serve --listen unix:$work" 2>/dev/null || true
  pkill -f "qemu-nbd.*$work" 2>/dev/null || true
  pkill -f "qemu-storage-daemon.*$work" 2>/dev/null || true
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
rounds="${ROUNDS:-5}"
once() { # once URI CONNECTIONS cold|warm -> MiB/s of one nbdcopy to null:
  local t0 t1
  sync
  [[ $3 == cold ]] && echo 3 >/proc/sys/vm/drop_caches
  t0=$(date +%s%N); nbdcopy --connections="$2" "$1" null: ; t1=$(date +%s%N)
  echo $((size * 1000000000 / (t1 - t0)))
}
median() { printf '%s\n' "$@" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

"$vdisk" serve --listen "unix:$work/v.sock" dyn.vhd >/dev/null 2>&1 &
"$vdisk" serve --listen "unix:$work/c.sock" c2.vhd >/dev/null 2>&1 &
qemu-nbd -t -e 8 -f vpc -k "$work/q.sock" -x qdyn.vhd qdyn.vhd >/dev/null 2>&1 &
qemu-nbd -t -e 8 -f raw -k "$work/r.sock" -x raw.img raw.img >/dev/null 2>&1 &
cp --sparse=always dyn.vhd sdyn.vhd
qemu-storage-daemon --blockdev driver=file,node-name=f,filename="$work/sdyn.vhd" \
  --blockdev driver=vpc,node-name=d,file=f \
  --nbd-server addr.type=unix,addr.path="$work/s.sock" \
  --export type=nbd,id=e,node-name=d,name=sdyn.vhd >/dev/null 2>&1 &
wait_sock v.sock && wait_sock c.sock && wait_sock q.sock && wait_sock r.sock && wait_sock s.sock

declare -A name uri runs got
keys=(v c q s r)
name[v]="vdisk serve (VHD)";            uri[v]="nbd+unix:///dyn.vhd?socket=$work/v.sock"
name[c]="vdisk serve (depth-3 chain)";  uri[c]="nbd+unix:///c2.vhd?socket=$work/c.sock"
name[q]="qemu-nbd -f vpc (VHD)";        uri[q]="nbd+unix:///qdyn.vhd?socket=$work/q.sock"
name[s]="qemu-storage-daemon (VHD)";    uri[s]="nbd+unix:///sdyn.vhd?socket=$work/s.sock"
name[r]="qemu-nbd -f raw (raw copy)";   uri[r]="nbd+unix:///raw.img?socket=$work/r.sock"
for k in "${keys[@]}"; do nbdcopy "${uri[$k]}" null: ; done # warm-up: page cache and JIT alike
# rounds interleave the servers, so that this VM's drifts fall on every row alike
for col in "cold 4" "cold 1" "warm 4" "warm 1"; do
  set -- $col
  for ((i = 0; i < rounds; i++)); do
    for k in "${keys[@]}"; do
      runs[$k$1$2]+="$(once "${uri[$k]}" "$2" "$1") "
    done
  done
done
printf '%-30s %10s %10s %10s %10s\n' "nbdcopy to null: (MiB/s)" "cold 4c" "cold 1c" "warm 4c" "warm 1c"
for k in "${keys[@]}"; do
  line=""
  for col in "cold 4" "cold 1" "warm 4" "warm 1"; do
    set -- $col
    got[$k$1$2]=$(median ${runs[$k$1$2]})
    line+=$(printf ' %10s' "${got[$k$1$2]}")
  done
  printf '%-30s%s\n' "${name[$k]}" "$line"
done
verdict() { # verdict LABEL RATIO [TARGET]
  awk -v l="$1" -v r="$2" -v t="${3:-}" 'BEGIN {
    printf "%-64s %5.2f x", l, r
    if (t != "") printf "  (target >= %s: %s)", t, (r >= t ? "met" : "missed")
    printf "\n" }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
echo
for col in "cold 4" "cold 1" "warm 4" "warm 1"; do
  set -- $col
  verdict "vdisk / qemu-nbd, dynamic VHD, $1, $2 connection(s)" "$(ratio "${got[v$1$2]}" "${got[q$1$2]}")" 1.5
done
for col in "cold 4" "cold 1" "warm 4" "warm 1"; do
  set -- $col
  verdict "vdisk / qemu-storage-daemon, dynamic VHD, $1, $2 connection(s)" "$(ratio "${got[v$1$2]}" "${got[s$1$2]}")"
done
for col in "cold 4" "cold 1" "warm 4" "warm 1"; do
  set -- $col
  verdict "vdisk depth-3 chain / dynamic VHD, $1, $2 connection(s)" "$(ratio "${got[c$1$2]}" "${got[v$1$2]}")" 0.9
done
echo

# random 4 KiB reads with fio's nbd engine (queue depth 16, 5 s, warm page cache), 3 rounds
# interleaved, median IOPS
declare -A iops
for ((i = 0; i < 3; i++)); do
  for k in v c q s; do
    n=$(fio --name=r --ioengine=nbd --uri="${uri[$k]}" --rw=randread --bs=4k --iodepth=16 \
      --runtime=5 --time_based --output-format=terse 2>/dev/null | awk -F';' '{ print $8 }')
    iops[$k]+="$n "
  done
done
printf '%-30s %12s\n' "fio randread 4k, qd 16 (IOPS)" ""
for k in v c q s; do
  iops[$k]=$(median ${iops[$k]})
  printf '%-30s %12s\n' "${name[$k]}" "${iops[$k]}"
done
verdict "vdisk / qemu-nbd, random 4 KiB reads" "$(ratio "${iops[v]}" "${iops[q]}")"
verdict "vdisk / qemu-storage-daemon, random 4 KiB reads" "$(ratio "${iops[v]}" "${iops[s]}")"
echo

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
