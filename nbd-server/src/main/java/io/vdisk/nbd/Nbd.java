package io.vdisk.nbd;

/**
 * The NBD protocol's numbers, as the upstream specification ({@code doc/proto.md} of the NBD
 * project) names them: fixed newstyle negotiation, simple and structured replies, the {@code
 * base:allocation} metadata context. All integers go big-endian on the wire.
 */
final class Nbd {
  private Nbd() {}

  // Negotiation
  static final long INIT_MAGIC = 0x4e42444d41474943L; // "NBDMAGIC"
  static final long OPTS_MAGIC = 0x49484156454F5054L; // "IHAVEOPT"
  static final long REP_MAGIC = 0x0003e889045565a9L;
  static final int FLAG_FIXED_NEWSTYLE = 1;
  static final int FLAG_NO_ZEROES = 1 << 1;
  static final int FLAG_C_FIXED_NEWSTYLE = 1;
  static final int FLAG_C_NO_ZEROES = 1 << 1;

  static final int OPT_EXPORT_NAME = 1;
  static final int OPT_ABORT = 2;
  static final int OPT_LIST = 3;
  static final int OPT_STARTTLS = 5;
  static final int OPT_INFO = 6;
  static final int OPT_GO = 7;
  static final int OPT_STRUCTURED_REPLY = 8;
  static final int OPT_LIST_META_CONTEXT = 9;
  static final int OPT_SET_META_CONTEXT = 10;

  static final int REP_ACK = 1;
  static final int REP_SERVER = 2;
  static final int REP_INFO = 3;
  static final int REP_META_CONTEXT = 4;
  static final int REP_ERR_UNSUP = 0x80000001;
  static final int REP_ERR_POLICY = 0x80000002;
  static final int REP_ERR_INVALID = 0x80000003;
  static final int REP_ERR_TLS_REQD = 0x80000005;
  static final int REP_ERR_UNKNOWN = 0x80000006;
  static final int REP_ERR_TOO_BIG = 0x80000009;

  static final int INFO_EXPORT = 0;
  static final int INFO_NAME = 1;
  static final int INFO_DESCRIPTION = 2;
  static final int INFO_BLOCK_SIZE = 3;

  // Transmission flags
  static final int FLAG_HAS_FLAGS = 1;
  static final int FLAG_READ_ONLY = 1 << 1;
  static final int FLAG_SEND_FLUSH = 1 << 2;
  static final int FLAG_SEND_FUA = 1 << 3;
  static final int FLAG_SEND_TRIM = 1 << 5;
  static final int FLAG_SEND_WRITE_ZEROES = 1 << 6;
  static final int FLAG_SEND_DF = 1 << 7;
  static final int FLAG_CAN_MULTI_CONN = 1 << 8;
  static final int FLAG_SEND_CACHE = 1 << 10;

  // Requests
  static final int REQUEST_MAGIC = 0x25609513;
  static final int CMD_READ = 0;
  static final int CMD_WRITE = 1;
  static final int CMD_DISC = 2;
  static final int CMD_FLUSH = 3;
  static final int CMD_TRIM = 4;
  static final int CMD_CACHE = 5;
  static final int CMD_WRITE_ZEROES = 6;
  static final int CMD_BLOCK_STATUS = 7;
  static final int CMD_FLAG_FUA = 1;
  static final int CMD_FLAG_NO_HOLE = 1 << 1;
  static final int CMD_FLAG_DF = 1 << 2;
  static final int CMD_FLAG_REQ_ONE = 1 << 3;

  // Replies
  static final int SIMPLE_REPLY_MAGIC = 0x67446698;
  static final int STRUCTURED_REPLY_MAGIC = 0x668e33ef;
  static final int REPLY_FLAG_DONE = 1;
  static final int REPLY_TYPE_NONE = 0;
  static final int REPLY_TYPE_OFFSET_DATA = 1;
  static final int REPLY_TYPE_OFFSET_HOLE = 2;
  static final int REPLY_TYPE_BLOCK_STATUS = 5;
  static final int REPLY_TYPE_ERROR = (1 << 15) + 1;

  static final int STATE_HOLE = 1;
  static final int STATE_ZERO = 2;

  // Errors (errno values the protocol fixes)
  static final int EPERM = 1;
  static final int EIO = 5;
  static final int ENOMEM = 12;
  static final int EINVAL = 22;
  static final int ENOSPC = 28;
  static final int EOVERFLOW = 75;
  static final int ENOTSUP = 95;
  static final int ESHUTDOWN = 108;

  /**
   * The metadata context of every export: which ranges hold data, which read as zeros. Exports of
   * SR VDIs add {@code qemu:dirty-bitmap:SNAPSHOT} contexts ({@link NbdExport#dirty}).
   */
  static final String BASE_ALLOCATION = "base:allocation";

  /** Largest request payload (read or write): qemu's NBD_MAX_BUFFER_SIZE. */
  static final int MAX_PAYLOAD = 32 << 20;

  /** Largest option payload read into memory; bigger ones are skipped and refused. */
  static final int MAX_OPTION = 64 << 10;

  /** Longest string the protocol allows (names, queries). */
  static final int MAX_STRING = 4096;
}
