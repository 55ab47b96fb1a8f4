package io.vdisk.engine.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Which mounts keep their locks on this host, read from mountinfo lines as Linux writes them. */
class SharedMountsTest {
  // Lines as a Debian client with the lab's mounts shows them (proc(5) layout).
  private static final String MOUNTINFO =
      """
      22 1 254:1 / / rw,relatime shared:1 - ext4 /dev/vda1 rw,errors=remount-ro
      40 22 0:35 / /mnt/sr4 rw,relatime shared:20 - nfs4 10.250.0.1:/export \
      rw,vers=4.1,rsize=1048576,hard,proto=tcp,timeo=600,sec=sys,local_lock=none
      41 22 0:36 / /mnt/sr3 rw,relatime shared:21 - nfs 10.250.0.1:/export \
      rw,vers=3,soft,proto=tcp,timeo=200,retrans=12,acdirmin=0,acdirmax=0,\
      mountaddr=10.250.0.1,local_lock=none
      42 22 0:37 / /mnt/nolock rw,relatime shared:22 - nfs 10.250.0.1:/export \
      rw,vers=3,nolock,proto=tcp,local_lock=all
      43 22 0:38 / /mnt/flock rw,relatime - nfs4 10.250.0.1:/export rw,vers=4.2,local_lock=flock
      48 22 0:43 / /mnt/v3nolock rw - nfs 10.250.0.1:/export rw,vers=3,proto=tcp,local_lock=all
      44 22 0:39 / /mnt/smb rw,relatime - cifs //10.250.0.1/sr rw,vers=3.0,cache=loose,actimeo=0
      45 22 0:40 / /mnt/smb\\040nobrl rw,relatime - cifs //10.250.0.1/sr rw,vers=3.0,nobrl
      46 22 0:41 / /mnt/ssh rw,nosuid,nodev - fuse.sshfs host:/srv rw,user_id=0,group_id=0
      47 40 0:42 / /mnt/sr4/sub rw - tmpfs tmpfs rw
      """;

  private static Optional<String> at(String path) {
    return SharedMounts.mountOf(SharedMounts.parse(MOUNTINFO), path).flatMap(SharedMounts::reason);
  }

  @Test
  void serverLocksAreSafeAndLocalOnlyOnesAreNamed() {
    assertThat(at("/mnt/sr4/a")).isEmpty();
    assertThat(at("/mnt/sr3")).isEmpty();
    assertThat(at("/mnt/smb/x")).isEmpty();
    assertThat(at("/home/u")).isEmpty();
    assertThat(at("/mnt/nolock/sr")).hasValue("NFS mounted with nolock at /mnt/nolock");
    assertThat(at("/mnt/v3nolock"))
        .hasValue("NFS mounted with nolock (local_lock=all) at /mnt/v3nolock");
    assertThat(at("/mnt/flock")).hasValue("NFS mounted with local_lock=flock at /mnt/flock");
    assertThat(at("/mnt/smb nobrl/sr")).hasValue("SMB mounted with nobrl at /mnt/smb nobrl");
    assertThat(at("/mnt/ssh/sr")).hasValue("a FUSE file system (fuse.sshfs) at /mnt/ssh");
  }

  @Test
  void smbWithServerLocksIsUnsupportedAndWithNobrlOnlyForOneHost() {
    List<SharedMounts.Mount> m = SharedMounts.parse(MOUNTINFO);
    assertThat(SharedMounts.mountOf(m, "/mnt/smb/sr").flatMap(SharedMounts::unsupported))
        .hasValue("SMB (cifs) at /mnt/smb");
    assertThat(SharedMounts.mountOf(m, "/mnt/smb nobrl/sr").flatMap(SharedMounts::unsupported))
        .isEmpty();
    assertThat(SharedMounts.mountOf(m, "/mnt/sr3/sr").flatMap(SharedMounts::unsupported)).isEmpty();
  }

  @Test
  void theInnermostMountDecidesAndAPrefixOfANameIsNoParent() {
    assertThat(at("/mnt/sr4/sub/x")).isEmpty();
    assertThat(SharedMounts.mountOf(SharedMounts.parse(MOUNTINFO), "/mnt/sr4/sub/x"))
        .get()
        .extracting(SharedMounts.Mount::type)
        .isEqualTo("tmpfs");
    assertThat(SharedMounts.mountOf(SharedMounts.parse(MOUNTINFO), "/mnt/sshfoo"))
        .get()
        .extracting(SharedMounts.Mount::point)
        .isEqualTo("/");
  }

  @Test
  void malformedLinesAreSkipped() {
    List<SharedMounts.Mount> m = SharedMounts.parse("garbage\n1 2 3\n - \n" + MOUNTINFO);
    assertThat(m).hasSize(10);
  }
}
