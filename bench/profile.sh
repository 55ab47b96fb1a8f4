#!/usr/bin/env bash
# Where the time of a whole command goes: each of issue 12's commands run once with Java Flight
# Recorder (the JDK's own profiler) on a disk of SIZE_MIB (default 1024, half allocated), printing
# wall time, the JVM's own start (vdisk --version), the hot methods (execution samples, top
# frames) and the allocation by class; docs/performance.md holds a run's breakdown.
#   bench/profile.sh [WORKDIR] [SIZE_MIB]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-/var/tmp/vdisk-profile}"
size="${2:-1024}"
jfr=/usr/lib/jvm/temurin-25-jdk-amd64/bin/jfr # 'jfr view' is JDK 21+; it reads JDK 17 recordings
[[ -x $jfr ]] || jfr=jfr
vdisk="$here/vdisk"
"$vdisk" --version >/dev/null
rm -rf "$work" && mkdir -p "$work" && cd "$work"
trap 'rm -rf "$work"' EXIT
leaf=$(java -cp "$here/bench/target/benchmarks.jar" io.vdisk.bench.MakeChain "$work/chain" "$size" 3)
vx() { "$vdisk" "$1" --sr "$work/sr" "${@:2}"; }
disk=$(vx vdi-create name-label=root virtual-size=${size}M)
vx vdi-import uuid=$disk filename=chain/chain.raw format=raw
vm=$(vx vm-create name-label=p)
vx vbd-create vm-uuid=$vm vdi-uuid=$disk device=0 >/dev/null
vx vm-export vm=p filename=ref.xva
profile() { # name command...
  local name=$1; shift
  sync
  local t0 t1
  t0=$(date +%s.%N)
  VDISK_JAVA_OPTS="-XX:StartFlightRecording=filename=$work/$name.jfr,settings=profile" "$@" >/dev/null 2>&1
  sync
  t1=$(date +%s.%N)
  echo "== $name: $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s (with sync)"
  "$jfr" view --width 120 hot-methods "$work/$name.jfr" 2>/dev/null | sed -n "5,14p"
  "$jfr" summary "$work/$name.jfr" | grep -E "ExecutionSample|NativeMethodSample|FileRead |FileWrite |ObjectAllocationSample" || true
}
t0=$(date +%s.%N); "$vdisk" --version >/dev/null; t1=$(date +%s.%N)
echo "== JVM start and exit (vdisk --version): $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
t0=$(date +%s.%N); vx vdi-list --minimal >/dev/null; t1=$(date +%s.%N)
echo "== + SR open and catalog (vdi-list --minimal, 1 VDI): $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') s"
profile vm-export "$vdisk" vm-export --sr "$work/sr" vm=p filename=out.xva
profile vm-import "$vdisk" vm-import --sr "$work/sr" filename=ref.xva
profile flatten "$vdisk" convert -O vpc "$leaf" flat.vhd
"$vdisk" create --size ${size}M base.vhd >/dev/null && "$vdisk" snapshot base.vhd child.vhd >/dev/null
"$vdisk" io child.vhd -c "write -P 0x5a 0 $((size / 2))M" >/dev/null
profile coalesce "$vdisk" coalesce child.vhd
