#!/usr/bin/env bash
# Incremental backups: changed-block listing and delta export, whose cost must follow the change,
# not the disk. In one SR: a VDI of SIZE GiB (default 20) holding 1 GiB of data, snapshot S0,
# 0.1 % of the disk changed (64 KiB runs spread over it), snapshot S1, 1 % more, snapshot S2.
# Times (whole commands, each followed by sync, median of ROUNDS) vdi-list-changed-blocks
# S1..S2, the delta exports S1..S2 (1 %) and S0..S1 (0.1 %), and the full export of S2, and
# prints the ratios: a delta of 10 times the change should cost about 10 times as much, and far
# less than the full export.
#   bench/delta.sh [WORKDIR] [SIZE_GIB]      (defaults: /var/tmp/vdisk-delta, 20)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-/var/tmp/vdisk-delta}"
size="${2:-20}"
rounds=${ROUNDS:-3}
"$here/scripts/setup.sh"
v() { "$here/vdisk" "$1" --sr "$work/sr" "${@:2}"; }
"$here/vdisk" --version >/dev/null
rm -rf "$work" && mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
cd "$work"
v sr-create >/dev/null
vdi=$(v vdi-create name-label=bench virtual-size=${size}GiB)
v vdi-enable-cbt uuid=$vdi
head -c $((1 << 30)) /dev/urandom > data.raw
v vdi-import uuid=$vdi filename=data.raw format=raw
rm data.raw
s0=$(v vdi-snapshot uuid=$vdi)
# writes of 64 KiB every STRIDE bytes: COUNT runs = PERMILLE / 1000 of the disk
change() {
  local permille=$1 pattern=$2
  local count=$(( size * 1024 * 16 * permille / 1000 )) # 64 KiB runs
  local stride=$(( (size << 30) / count ))
  local args=()
  for ((i = 0; i < count; i++)); do
    args+=(-c "write -P $pattern $(( i * stride + 65536 * (pattern % 7) )) 64k")
  done
  "$here/vdisk" io "${args[@]}" "$work/sr/$vdi.vhd" >/dev/null
}
change 1 0x31
s1=$(v vdi-snapshot uuid=$vdi)
change 10 0x32
s2=$(v vdi-snapshot uuid=$vdi)

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
timed() {
  local t0 t1
  rm -f out.vhd
  sync
  t0=$(date +%s.%N)
  "$@" >/dev/null
  sync
  t1=$(date +%s.%N)
  awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", b - a }'
}
list=() d1=() d01=() full=() ver=()
for ((r = 0; r < rounds; r++)); do
  ver+=("$(timed "$here/vdisk" --version)")
  list+=("$(timed v vdi-list-changed-blocks vdi-from-uuid=$s1 vdi-to-uuid=$s2)")
  d1+=("$(timed v vdi-export uuid=$s2 base=$s1 format=vhd filename=out.vhd)")
  d01+=("$(timed v vdi-export uuid=$s1 base=$s0 format=vhd filename=out.vhd)")
  full+=("$(timed v vdi-export uuid=$s2 format=vhd filename=out.vhd)")
done
m() { printf '%s\n' "$@" | median; }
tv=$(m "${ver[@]}") tl=$(m "${list[@]}") t1=$(m "${d1[@]}") t01=$(m "${d01[@]}") tf=$(m "${full[@]}")
echo "disk ${size} GiB, 1 GiB of data; medians of $rounds"
printf '%-44s %8.3f s\n' "vdisk --version (JVM start)" "$tv"
printf '%-44s %8.3f s\n' "vdi-list-changed-blocks (1 % changed)" "$tl"
printf '%-44s %8.3f s\n' "delta export, 1 % changed" "$t1"
printf '%-44s %8.3f s\n' "delta export, 0.1 % changed" "$t01"
printf '%-44s %8.3f s\n' "full export (VHD, 1 GiB + changes)" "$tf"
awk -v v="$tv" -v a="$t1" -v b="$t01" -v f="$tf" 'BEGIN {
  printf "ratio delta 1 %% / delta 0.1 %% (minus JVM start): %.1f (10 = proportional)\n", (a - v) / (b - v)
  printf "ratio full export / delta 1 %%: %.1f\n", f / a }'
