#!/usr/bin/env bash
# Builds vdisk's .deb from the release tarball's tree (run by the build at `mvn package`):
#   packaging/build-deb.sh TARGET_DIR POM_VERSION
# Layout: /usr/share/vdisk/{bin/vdisk, lib/vdisk-all.jar}, /usr/bin/vdisk (a relative link, so the
# package also runs when unpacked into a scratch root), the man page and the bash completion.
# Depends on a Java 17 runtime and libfuse2 (libfuse2t64 on Debian 13). Where dpkg-deb is
# missing (not Debian) it says so and builds nothing.
set -euo pipefail
target=$1
version=${2//-/\~}   # 0.1.0-SNAPSHOT -> 0.1.0~SNAPSHOT: sorts before the release 0.1.0
if ! command -v dpkg-deb >/dev/null 2>&1; then
  echo "build-deb: dpkg-deb not found; no .deb built" >&2
  exit 0
fi
root="$target/deb-root"
rm -rf "$root"
mkdir -p "$root/DEBIAN" "$root/usr/share/vdisk/bin" "$root/usr/share/vdisk/lib" "$root/usr/bin" \
  "$root/usr/share/man/man1" "$root/usr/share/bash-completion/completions" "$root/usr/share/doc/vdisk"
here="$(cd "$(dirname "$0")" && pwd)"
install -m 0755 "$here/vdisk" "$root/usr/share/vdisk/bin/vdisk"
install -m 0644 "$target/vdisk-all.jar" "$root/usr/share/vdisk/lib/vdisk-all.jar"
ln -s ../share/vdisk/bin/vdisk "$root/usr/bin/vdisk"
gzip -9n < "$target/release/vdisk.1" > "$root/usr/share/man/man1/vdisk.1.gz"
chmod 0644 "$root/usr/share/man/man1/vdisk.1.gz"
install -m 0644 "$target/release/vdisk.bash" "$root/usr/share/bash-completion/completions/vdisk"
install -m 0644 "$here/../README.md" "$root/usr/share/doc/vdisk/README.md"
size=$(du -sk "$root/usr" | cut -f1)
cat > "$root/DEBIAN/control" <<CONTROL
Package: vdisk
Version: $version
Architecture: all
Maintainer: vdisk developers <vdisk@localhost>
Installed-Size: $size
Depends: openjdk-17-jre-headless | java17-runtime-headless, libfuse2 | libfuse2t64
Suggests: qemu-utils, fuse
Section: admin
Priority: optional
Description: VHD images, copy-on-write chains and XenServer storage repositories
 vdisk reads and writes fixed, dynamic and differencing VHD images byte-compatible with
 qemu-img, libvhdi and XenServer's vhd-util; manages a directory as a XenServer-style file SR
 with xe's verbs; exports and imports XVA archives; mounts images with FUSE and serves them
 over NBD.
CONTROL
dpkg-deb --root-owner-group -Zxz --build "$root" "$target/vdisk_${version}_all.deb" >/dev/null
echo "build-deb: $target/vdisk_${version}_all.deb"
