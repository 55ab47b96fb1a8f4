package io.vdisk.nbd;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLEngine;

/**
 * A server's X.509 credentials, laid out as qemu's {@code tls-creds-x509} directory: {@code
 * server-cert.pem} (the server's certificate, then any intermediates), {@code server-key.pem} (its
 * PKCS #8 private key, RSA or EC: {@code BEGIN PRIVATE KEY}, as {@code openssl req -newkey} and
 * {@code certtool --pkcs8} write it) and optionally {@code ca-cert.pem}, sent after the chain.
 * Clients are not asked for certificates.
 */
public final class TlsCredentials {
  private final SSLContext context;

  private TlsCredentials(SSLContext context) {
    this.context = context;
  }

  /** Loads {@code dir}; every problem is one line naming the file. */
  public static TlsCredentials load(Path dir) throws IOException {
    Path certFile = dir.resolve("server-cert.pem");
    Path keyFile = dir.resolve("server-key.pem");
    Path caFile = dir.resolve("ca-cert.pem");
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      List<Certificate> chain = new ArrayList<>();
      try (InputStream in = Files.newInputStream(certFile)) {
        chain.addAll(cf.generateCertificates(in));
      }
      if (chain.isEmpty()) {
        throw new IOException(certFile + ": no certificate in it");
      }
      if (Files.exists(caFile)) {
        try (InputStream in = Files.newInputStream(caFile)) {
          chain.addAll(cf.generateCertificates(in));
        }
      }
      PrivateKey key = privateKey(keyFile, chain.get(0).getPublicKey().getAlgorithm());
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      char[] none = new char[0];
      ks.setKeyEntry("server", key, none, chain.toArray(new Certificate[0]));
      KeyManagerFactory kmf =
          KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
      kmf.init(ks, none);
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf.getKeyManagers(), null, null);
      return new TlsCredentials(ctx);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new java.nio.file.NoSuchFileException(
          e.getFile(),
          null,
          "missing (a TLS credentials directory holds server-cert.pem and server-key.pem)");
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IOException(dir + ": unusable TLS credentials: " + e.getMessage(), e);
    }
  }

  private static PrivateKey privateKey(Path file, String algorithm)
      throws IOException, GeneralSecurityException {
    String pem = Files.readString(file, StandardCharsets.US_ASCII);
    String begin = "-----BEGIN PRIVATE KEY-----";
    int a = pem.indexOf(begin);
    int b = pem.indexOf("-----END PRIVATE KEY-----");
    if (a < 0 || b < a) {
      throw new IOException(
          file
              + ": not a PKCS #8 private key (BEGIN PRIVATE KEY); convert it with"
              + " 'openssl pkcs8 -topk8 -nocrypt -in KEY -out server-key.pem'");
    }
    byte[] der = Base64.getMimeDecoder().decode(pem.substring(a + begin.length(), b));
    return KeyFactory.getInstance(algorithm).generatePrivate(new PKCS8EncodedKeySpec(der));
  }

  /** A server-side engine for one connection. */
  SSLEngine engine() {
    SSLEngine e = context.createSSLEngine();
    e.setUseClientMode(false);
    e.setNeedClientAuth(false);
    return e;
  }
}
