#!/usr/bin/env bash
# The whole test suite: installs what it needs (as root), then runs every gate of the build:
# compiler warnings as errors, formatting, enforcer, unit tests and interop tests (mvn verify).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
# vhdimount (libvhdi) needs the FUSE device; load the module where it is not built in.
[[ -e /dev/fuse ]] || modprobe fuse 2>/dev/null || true
mvn -B -ntp verify "$@"
# The shared-SR suite: two hosts on NFSv4.1 and NFSv3 in a user-mode Linux lab (lab/nfs/), against
# the jar verify just built. VDISK_LAB=0 leaves it out of a local run (CI always runs it).
if [[ ${VDISK_LAB:-1} != 0 ]]; then
  lab/nfs/run.sh
fi
