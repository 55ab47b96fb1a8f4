#!/usr/bin/env bash
# Runs the shared-SR lab suites (default: shared-sr, NFSv4.1 and NFSv3 with XenServer's options,
# about 9 min; and shared-sr-smb, under a minute) against tools/target/vdisk-all.jar, from the
# repository's root: sets the lab up (as root: packages, Debian's user-mode Linux unpacked under
# $WORK), boots it once per suite, prints each check, and exits non-zero when any failed.
#   lab/nfs/run.sh [SUITE...]        # SUITE: shared-sr, shared-sr-smb, smoke
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
suites=("$@"); ((${#suites[@]})) || suites=(shared-sr shared-sr-smb)
bash lab/nfs/uml-lab.sh setup
status=0
for s in "${suites[@]}"; do
  out=$PWD/target/lab/$s
  echo "lab: $s (log in $out/test.log)"
  start=$SECONDS
  rc=$(bash lab/nfs/uml-lab.sh run "lab/nfs/guest/$s.sh" "$out") || true
  grep -E '^(ok|FAIL)|^\[' "$out/test.log" 2>/dev/null | sed 's/^/  /' || true
  echo "lab: $s: $rc in $((SECONDS - start)) s"
  if [[ $rc != rc=0 ]]; then
    status=1
    echo "lab: $s failed; its whole log:"; cat "$out/test.log" 2>/dev/null || cat "$out/console.log"
  fi
done
exit $status
