package io.vdisk.engine.sr;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The SR's catalog in SQLite (upserts, never {@code INSERT OR REPLACE}: a replace deletes the row
 * first, and the delete would cascade to the VM's disks) ({@code sr.db}): what the VHD files cannot
 * hold. The files stay the truth about data and parentage; {@link StorageRepository#scan}
 * reconciles the two. Every change of several rows happens in one transaction ({@link
 * #transaction}).
 */
final class Catalog implements AutoCloseable {
  /** A VDI's record. {@code managed} is false for hidden base copies, as in xapi. */
  record Vdi(
      String uuid,
      String name,
      String description,
      boolean readOnly,
      boolean snapshot,
      String snapshotOf,
      boolean managed) {}

  /** A VM's record; templates and snapshots are VMs with a flag, as in xapi. */
  record Vm(
      String uuid,
      String name,
      String description,
      int vcpus,
      long memory,
      boolean template,
      boolean snapshot,
      String snapshotOf,
      String otherConfig) {}

  /** A VM's disk: which VDI, at which device position, bootable, RO or RW. */
  record Vbd(String uuid, String vm, String vdi, String device, boolean bootable, String mode) {}

  /** Work done inside one transaction. */
  @FunctionalInterface
  interface Work {
    void run() throws SQLException, IOException;
  }

  private final Connection db;

  private Catalog(Connection db) {
    this.db = db;
  }

  /**
   * Opens the catalog. Never WAL: SQLite's WAL keeps its index in shared memory, which hosts
   * sharing an SR over NFS or SMB do not share (SQLite documents WAL as unusable there); the
   * rollback journal ({@code DELETE}) works wherever byte-range locks reach the server. Reads run
   * in autocommit, so a reader holds SQLite's shared lock only for one statement and never keeps a
   * writer waiting. {@code readOnly} opens without writing anything (a read-only SR directory).
   */
  static Catalog open(Path file, boolean readOnly) throws IOException {
    io.vdisk.engine.io.SqliteNative.prepare();
    try {
      org.sqlite.SQLiteConfig cfg = new org.sqlite.SQLiteConfig();
      cfg.setReadOnly(readOnly);
      cfg.setBusyTimeout(10_000);
      cfg.enforceForeignKeys(true);
      if (!readOnly) {
        cfg.setJournalMode(org.sqlite.SQLiteConfig.JournalMode.DELETE);
        cfg.setSynchronous(org.sqlite.SQLiteConfig.SynchronousMode.FULL);
      }
      Connection c =
          DriverManager.getConnection("jdbc:sqlite:" + file.toAbsolutePath(), cfg.toProperties());
      if (!readOnly) {
        try (Statement s = c.createStatement()) {
          s.execute(
              "CREATE TABLE IF NOT EXISTS vdi (uuid TEXT PRIMARY KEY, name TEXT NOT NULL,"
                  + " description TEXT NOT NULL DEFAULT '', read_only INTEGER NOT NULL DEFAULT 0,"
                  + " is_snapshot INTEGER NOT NULL DEFAULT 0, snapshot_of TEXT,"
                  + " managed INTEGER NOT NULL DEFAULT 1)");
          s.execute(
              "CREATE TABLE IF NOT EXISTS vm (uuid TEXT PRIMARY KEY, name TEXT NOT NULL,"
                  + " description TEXT NOT NULL DEFAULT '', vcpus INTEGER NOT NULL DEFAULT 1,"
                  + " memory INTEGER NOT NULL DEFAULT 0, is_template INTEGER NOT NULL DEFAULT 0,"
                  + " is_snapshot INTEGER NOT NULL DEFAULT 0, snapshot_of TEXT,"
                  + " other_config TEXT NOT NULL DEFAULT '{}')");
          s.execute(
              "CREATE TABLE IF NOT EXISTS vbd (uuid TEXT PRIMARY KEY,"
                  + " vm TEXT NOT NULL REFERENCES vm(uuid) ON DELETE CASCADE,"
                  + " vdi TEXT NOT NULL REFERENCES vdi(uuid), device TEXT NOT NULL,"
                  + " bootable INTEGER NOT NULL DEFAULT 0, mode TEXT NOT NULL DEFAULT 'RW',"
                  + " UNIQUE (vm, device))");
          s.execute(
              "CREATE TABLE IF NOT EXISTS vdi_config (vdi TEXT NOT NULL REFERENCES vdi(uuid)"
                  + " ON DELETE CASCADE, key TEXT NOT NULL, value TEXT NOT NULL,"
                  + " PRIMARY KEY (vdi, key))");
          s.execute("CREATE TABLE IF NOT EXISTS sr (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
        }
      }
      return new Catalog(c);
    } catch (SQLException e) {
      throw new IOException(file + ": cannot open the catalog: " + e.getMessage(), e);
    }
  }

  /** Runs {@code work} in one transaction: all of it is committed, or none. */
  synchronized void transaction(Work work) throws IOException {
    try {
      db.setAutoCommit(false);
      work.run();
      db.commit();
      db.setAutoCommit(true);
    } catch (SQLException | IOException | RuntimeException e) {
      try {
        db.rollback();
        db.setAutoCommit(true);
      } catch (SQLException suppressed) {
        e.addSuppressed(suppressed);
      }
      if (e instanceof SQLException s) {
        throw new IOException("catalog: " + s.getMessage(), s);
      }
      if (e instanceof IOException io) {
        throw io;
      }
      throw (RuntimeException) e;
    }
  }

  // ---- VDIs ---------------------------------------------------------------------------------

  List<Vdi> vdis() throws IOException {
    return query("SELECT * FROM vdi ORDER BY name, uuid", Catalog::vdiOf);
  }

  Optional<Vdi> vdi(String uuid) throws IOException {
    return query("SELECT * FROM vdi WHERE uuid = ?", Catalog::vdiOf, uuid).stream().findFirst();
  }

  void putVdi(Vdi v) throws SQLException {
    try (PreparedStatement ps =
        db.prepareStatement(
            "INSERT INTO vdi (uuid, name, description, read_only, is_snapshot, snapshot_of,"
                + " managed) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(uuid) DO UPDATE SET"
                + " name = excluded.name, description = excluded.description,"
                + " read_only = excluded.read_only, is_snapshot = excluded.is_snapshot,"
                + " snapshot_of = excluded.snapshot_of, managed = excluded.managed")) {
      ps.setString(1, v.uuid());
      ps.setString(2, v.name());
      ps.setString(3, v.description());
      ps.setInt(4, v.readOnly() ? 1 : 0);
      ps.setInt(5, v.snapshot() ? 1 : 0);
      ps.setString(6, v.snapshotOf());
      ps.setInt(7, v.managed() ? 1 : 0);
      ps.executeUpdate();
    }
  }

  void deleteVdi(String uuid) throws SQLException {
    update("DELETE FROM vbd WHERE vdi = ?", uuid);
    update("DELETE FROM vdi_config WHERE vdi = ?", uuid);
    update("DELETE FROM vdi WHERE uuid = ?", uuid);
  }

  /**
   * A VDI's other-config value, or null (also for a catalog made before the table existed and
   * opened read-only).
   */
  String config(String vdi, String key) throws IOException {
    return optionalValue("SELECT value FROM vdi_config WHERE vdi = ? AND key = ?", vdi, key);
  }

  /**
   * The first column of the first row, or null when there is none or its table is not there (a
   * catalog made before the table existed, opened read-only, has never been given it).
   */
  private String optionalValue(String sql, String... args) throws IOException {
    try {
      return query(sql, r -> r.getString(1), args).stream().findFirst().orElse(null);
    } catch (IOException e) {
      if (String.valueOf(e.getMessage()).contains("no such table")) {
        return null;
      }
      throw e;
    }
  }

  /** Sets ({@code value} not null) or removes a VDI's other-config value. */
  void putConfig(String vdi, String key, String value) throws SQLException {
    try (PreparedStatement ps =
        db.prepareStatement(
            value == null
                ? "DELETE FROM vdi_config WHERE vdi = ? AND key = ?"
                : "INSERT INTO vdi_config (vdi, key, value) VALUES (?, ?, ?)"
                    + " ON CONFLICT(vdi, key) DO UPDATE SET value = excluded.value")) {
      ps.setString(1, vdi);
      ps.setString(2, key);
      if (value != null) {
        ps.setString(3, value);
      }
      ps.executeUpdate();
    }
  }

  // ---- the SR's own record -------------------------------------------------------------------

  /**
   * A field of the SR's record ({@code uuid}, {@code name-label}, {@code name-description}), or
   * null (also for a catalog made before the table existed and opened read-only).
   */
  String srField(String key) throws IOException {
    return optionalValue("SELECT value FROM sr WHERE key = ?", key);
  }

  /** Sets a field of the SR's record; {@code onlyIfAbsent} keeps a value already there. */
  void putSrField(String key, String value, boolean onlyIfAbsent) throws SQLException {
    try (PreparedStatement ps =
        db.prepareStatement(
            onlyIfAbsent
                ? "INSERT INTO sr (key, value) VALUES (?, ?) ON CONFLICT(key) DO NOTHING"
                : "INSERT INTO sr (key, value) VALUES (?, ?)"
                    + " ON CONFLICT(key) DO UPDATE SET value = excluded.value")) {
      ps.setString(1, key);
      ps.setString(2, value);
      ps.executeUpdate();
    }
  }

  private static Vdi vdiOf(ResultSet r) throws SQLException {
    return new Vdi(
        r.getString("uuid"),
        r.getString("name"),
        r.getString("description"),
        r.getInt("read_only") != 0,
        r.getInt("is_snapshot") != 0,
        r.getString("snapshot_of"),
        r.getInt("managed") != 0);
  }

  // ---- VMs ----------------------------------------------------------------------------------

  List<Vm> vms() throws IOException {
    return query("SELECT * FROM vm ORDER BY name, uuid", Catalog::vmOf);
  }

  void putVm(Vm v) throws SQLException {
    try (PreparedStatement ps =
        db.prepareStatement(
            "INSERT INTO vm (uuid, name, description, vcpus, memory, is_template, is_snapshot,"
                + " snapshot_of, other_config) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                + " ON CONFLICT(uuid) DO UPDATE SET name = excluded.name,"
                + " description = excluded.description, vcpus = excluded.vcpus,"
                + " memory = excluded.memory, is_template = excluded.is_template,"
                + " is_snapshot = excluded.is_snapshot, snapshot_of = excluded.snapshot_of,"
                + " other_config = excluded.other_config")) {
      ps.setString(1, v.uuid());
      ps.setString(2, v.name());
      ps.setString(3, v.description());
      ps.setInt(4, v.vcpus());
      ps.setLong(5, v.memory());
      ps.setInt(6, v.template() ? 1 : 0);
      ps.setInt(7, v.snapshot() ? 1 : 0);
      ps.setString(8, v.snapshotOf());
      ps.setString(9, v.otherConfig());
      ps.executeUpdate();
    }
  }

  void deleteVm(String uuid) throws SQLException {
    update("DELETE FROM vbd WHERE vm = ?", uuid);
    update("DELETE FROM vm WHERE uuid = ?", uuid);
  }

  private static Vm vmOf(ResultSet r) throws SQLException {
    return new Vm(
        r.getString("uuid"),
        r.getString("name"),
        r.getString("description"),
        r.getInt("vcpus"),
        r.getLong("memory"),
        r.getInt("is_template") != 0,
        r.getInt("is_snapshot") != 0,
        r.getString("snapshot_of"),
        r.getString("other_config"));
  }

  // ---- VBDs ---------------------------------------------------------------------------------

  List<Vbd> vbds() throws IOException {
    return query("SELECT * FROM vbd ORDER BY vm, device", Catalog::vbdOf);
  }

  void putVbd(Vbd v) throws SQLException {
    try (PreparedStatement ps =
        db.prepareStatement(
            "INSERT INTO vbd (uuid, vm, vdi, device, bootable, mode) VALUES (?, ?, ?, ?, ?, ?)"
                + " ON CONFLICT(uuid) DO NOTHING")) {
      ps.setString(1, v.uuid());
      ps.setString(2, v.vm());
      ps.setString(3, v.vdi());
      ps.setString(4, v.device());
      ps.setInt(5, v.bootable() ? 1 : 0);
      ps.setString(6, v.mode());
      ps.executeUpdate();
    }
  }

  void deleteVbd(String uuid) throws SQLException {
    update("DELETE FROM vbd WHERE uuid = ?", uuid);
  }

  private static Vbd vbdOf(ResultSet r) throws SQLException {
    return new Vbd(
        r.getString("uuid"),
        r.getString("vm"),
        r.getString("vdi"),
        r.getString("device"),
        r.getInt("bootable") != 0,
        r.getString("mode"));
  }

  // ---- plumbing -----------------------------------------------------------------------------

  @FunctionalInterface
  private interface Row<T> {
    T of(ResultSet r) throws SQLException;
  }

  private synchronized <T> List<T> query(String sql, Row<T> row, String... args)
      throws IOException {
    try (PreparedStatement ps = db.prepareStatement(sql)) {
      for (int i = 0; i < args.length; i++) {
        ps.setString(i + 1, args[i]);
      }
      List<T> out = new ArrayList<>();
      try (ResultSet r = ps.executeQuery()) {
        while (r.next()) {
          out.add(row.of(r));
        }
      }
      return out; // autocommit: SQLite's shared lock is already released
    } catch (SQLException e) {
      throw new IOException("catalog: " + e.getMessage(), e);
    }
  }

  private void update(String sql, String arg) throws SQLException {
    try (PreparedStatement ps = db.prepareStatement(sql)) {
      ps.setString(1, arg);
      ps.executeUpdate();
    }
  }

  @Override
  public void close() throws IOException {
    try {
      db.close();
    } catch (SQLException e) {
      throw new IOException("catalog: " + e.getMessage(), e);
    }
  }
}
