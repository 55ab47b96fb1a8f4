#!/bin/bash
# One SR shared by two hosts, hA and hB, as a pool shares a file SR: for each mount in $SETS
# (default: NFSv4.1, and NFSv3 with XenServer's NFS SR options), on a fresh SR,
#   clones    three vm-clones from each host at once: all succeed (they wait for the SR lock),
#             and the catalog's integrity_check is ok;
#   export    a vm-export on hA, held open by a slow reader, while hB lists, clones another VM
#             and runs sr-gc: all succeed meanwhile, and the archive verifies;
#   mount     a read-only mount of a VDI on hA while hB snapshots another VDI and runs sr-gc:
#             gc skips the base under the mount naming hA, hA's reads never fail and never
#             change, and the next gc after the unmount coalesces it;
#   kill      kill -9 of hA's vm-copy mid-way: hB's next command finishes or undoes it, nothing
#             is left behind;
#   nolock    hB remounted with nolock: changes refused (exit 6, naming the option), reads work.
# Exit 0 only when every check held; each failure is one "FAIL" line in test.log.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
XS_NFS3=${XS_NFS3:-soft,proto=tcp,vers=3,acdirmin=0,acdirmax=0,timeo=200,retrans=12}
SETS=${SETS:-"vers=4.1 $XS_NFS3"}
CASES=${CASES:-"clones export mount kill nolock"}
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
check() { local what=$1; shift; if "$@"; then echo "ok: $what"; else fail "$what"; fi; }

server_up || exit 1
host_up hA 10.250.0.2; host_up hB 10.250.0.3

# setup: an SR with a VM "base" (one 32 MiB disk, 12 MiB written).
setup() {
  on hA sh -c 'rm -rf /mnt/sr/* /mnt/sr/.[!.]*' 2>/dev/null
  vd hA sr-create >/dev/null || return 1
  DISK=$(vdq hA vdi-create name-label=root virtual-size=32M) || return 1
  vd hA io /mnt/sr/$DISK.vhd -c "write -P 0x5a 0 12M" >/dev/null || return 1
  BASE=$(vdq hA vm-create name-label=base) || return 1
  vd hA vbd-create vm-uuid=$BASE vdi-uuid=$DISK device=0 >/dev/null || return 1
  log "setup: vm $BASE disk $DISK"
}

# A VDI "data" with two destroyed snapshots under it: one hidden base is ready for coalescing.
data_with_garbage() {
  local s1 s2
  DATA=$(vdq hA vdi-create name-label=data virtual-size=16M) || return 1
  vd hA io /mnt/sr/$DATA.vhd -c "write -P 0x11 0 1M" >/dev/null || return 1
  s1=$(vdq hA vdi-snapshot uuid=$DATA) && vd hA io /mnt/sr/$DATA.vhd -c "write -P 0x22 1M 1M" >/dev/null \
    && s2=$(vdq hA vdi-snapshot uuid=$DATA) && vd hA io /mnt/sr/$DATA.vhd -c "write -P 0x33 2M 1M" >/dev/null \
    && vd hA vdi-destroy uuid=$s1 >/dev/null && vd hA vdi-destroy uuid=$s2 >/dev/null
}

integrity() { [[ $(on hA sqlite3 -readonly /mnt/sr/sr.db 'pragma integrity_check') == ok ]]; }
no_leftovers() { # no journal record, no temporary file, every VHD known to the catalog
  local left; left=$(on hA sh -c 'ls -A /mnt/sr/journal 2>/dev/null; ls /mnt/sr | grep -v -e "\.vhd$" -e "^sr\.db$" -e "^sr\.lock$" -e "^journal$" -e "^locks$"')
  [[ -z $left ]] || { echo "  left: $left"; return 1; }
  [[ $(vdq hB sr-scan --no-wait) == "catalog and files agree"* ]]
}

case_clones() {
  local h i
  for h in hA hB; do
    ( for i in 1 2 3; do vdq $h vm-clone vm=base new-name-label=c-$h-$i >/dev/null 2>>/tmp/clone-$h.err \
        || echo "clone $h $i rc=$?" >> /tmp/clone-fail; done ) &
  done
  wait
  cat /tmp/clone-hA.err /tmp/clone-hB.err 2>/dev/null | sed 's/^/  /'; rm -f /tmp/clone-h?.err
  check "six concurrent vm-clones from two hosts all succeed" test ! -e /tmp/clone-fail
  [[ -e /tmp/clone-fail ]] && { cat /tmp/clone-fail; rm -f /tmp/clone-fail; }
  check "the catalog lists all six clones" test "$(vdq hB vm-list --minimal | tr ',' '\n' | grep -c .)" -eq 7
  check "catalog integrity_check is ok" integrity
}

case_export() {
  local t0 ex
  # A reader that takes 40 s to start reading keeps the export (and its VDI lock) open.
  on hA bash -c "env VDISK_SR=/mnt/sr java $JOPTS -jar $JAR vm-export vm=base filename=- | (sleep 40; cat > /run/base.xva); echo \${PIPESTATUS[0]}" > /tmp/export.rc 2>/tmp/export.err &
  ex=$!
  nap 8
  t0=$SECONDS
  check "hB lists while hA exports" vd hB vm-list --minimal
  check "hB clones another VM while hA exports" vd hB vm-clone vm=c-hA-1 new-name-label=during
  check "hB runs sr-gc while hA exports" vd hB sr-gc
  check "hB was done before the export (${SECONDS}-${t0} s)" kill -0 $ex
  wait $ex
  cat /tmp/export.err
  check "the export succeeds" test "$(tail -1 /tmp/export.rc)" = 0
  check "the archive verifies" vd hA xva-verify /run/base.xva
  check "catalog integrity_check is ok" integrity
}

case_mount() {
  local before during gc
  data_with_garbage || { fail "data with garbage"; return; }
  on hA mkdir -p /mnt/fuse-hA/d
  vd hA mount --read-only /mnt/sr/$DATA.vhd /mnt/fuse-hA/d || { fail "mount"; return; }
  before=$(on hA sh -c 'md5sum < /mnt/fuse-hA/d/disk' 2>&1)
  # hA reads the mounted disk in a loop while hB changes the SR
  on hA sh -c 'while [ ! -e /tmp/stop-reading ]; do md5sum < /mnt/fuse-hA/d/disk >> /tmp/reads || echo READFAIL >> /tmp/reads; done' &
  check "hB snapshots another VDI under a mount on hA" vd hB vdi-snapshot uuid=$DISK
  gc=$(vdq hB sr-gc 2>&1); echo "$gc" | sed 's/^/  /'
  check "sr-gc skips the base under hA's mount, naming hA" grep -q "skipped base copy .*VDI $DATA is read by host hA pid [0-9]*: vdisk mount since" <<<"$gc"
  touch /tmp/stop-reading; wait
  during=$(sort -u /tmp/reads); rm -f /tmp/reads /tmp/stop-reading
  check "hA's reads never failed nor changed ($(grep -c . <<<"$during") distinct)" test "$during" = "$before"
  vd hA umount /mnt/fuse-hA/d >/dev/null
  gc=$(vdq hB sr-gc 2>&1); echo "$gc" | sed 's/^/  /'
  check "after the unmount sr-gc coalesces it" grep -q "coalesced base copy" <<<"$gc"
  check "the data reads the same after the coalesce" test "$(vdq hB convert -O raw /mnt/sr/$DATA.vhd - | md5sum)" = "$before"
}

case_kill() {
  local i j
  on hA sh -c "exec env VDISK_SR=/mnt/sr java $JOPTS -jar $JAR vm-copy vm=base new-name-label=copy" > /tmp/copy.out 2>&1 &
  # kill it once its journal record is on the server
  for i in $(seq 400); do [[ -n $(ls -A /srv/export/journal 2>/dev/null) ]] && break; nap 0.05; done
  on hA pkill -9 -f "vm-copy vm=base" ; wait
  log "killed vm-copy (journal: $(ls /srv/export/journal 2>/dev/null | tr '\n' ' '))"
  check "hB's next command finishes or undoes it" vd hB sr-scan
  check "nothing left behind" no_leftovers
  check "catalog integrity_check is ok" integrity
  check "hB can copy the VM" vd hB vm-copy vm=base new-name-label=copy2
}

case_nolock() {
  local out
  umount_sr hB; mount_sr hB "vers=3,nolock" >/dev/null || { fail "nolock mount"; return; }
  out=$(vdq hB vdi-create name-label=n virtual-size=8M 2>&1); local rc=$?
  echo "  $out"
  check "a change on a nolock mount is refused (exit 6)" test $rc -eq 6
  check "the refusal names nolock" grep -q "nolock" <<<"$out"
  check "reads still work there" vd hB vdi-list --minimal
  umount_sr hB; mount_sr hB "$1" >/dev/null
}

for o in $SETS; do
  log "=== mount options $o"
  mount_sr hA "$o" >/dev/null || { fail "mount $o"; continue; }
  mount_sr hB "$o" >/dev/null || { fail "mount $o"; continue; }
  [[ $o == *vers=4* ]] && lktry hA /mnt/sr/.warm-up >/dev/null   # the first v4 lock: ~58 s
  setup || { fail "setup on $o"; umount_sr hA; umount_sr hB; continue; }
  for c in $CASES; do log "--- $c"; case_$c "$o"; done
  umount_sr hA; umount_sr hB
done
log "=== $fails failure(s)"
exit $((fails > 0))
