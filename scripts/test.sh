#!/usr/bin/env bash
# The whole test suite: installs what it needs (as root), then runs every gate of the build:
# compiler warnings as errors, formatting, enforcer, unit tests and interop tests (mvn verify).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
# vhdimount (libvhdi) needs the FUSE device; load the module where it is not built in.
[[ -e /dev/fuse ]] || modprobe fuse 2>/dev/null || true
mvn -B -ntp verify "$@"
