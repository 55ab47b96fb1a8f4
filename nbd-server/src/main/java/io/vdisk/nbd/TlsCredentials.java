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
import javax.net.ssl.TrustManager;
import javax.net.ssl.TrustManagerFactory;

/**
 * A server's X.509 credentials, laid out as qemu's {@code tls-creds-x509} directory: {@code
 * server-cert.pem} (the server's certificate, then any intermediates), {@code server-key.pem} (its
 * PKCS #8 private key, RSA or EC: {@code BEGIN PRIVATE KEY}, as {@code openssl req -newkey} and
 * {@code certtool --pkcs8} write it) and optionally {@code ca-cert.pem}, sent after the chain.
 * Clients are asked for a certificate only when the server verifies its peers (qemu's {@code
 * verify-peer=on}); then a client must present one that {@code ca-cert.pem} signed, or the TLS
 * handshake fails before the client sees any export. Verifying peers, the server speaks TLS 1.2:
 * over TLS 1.3 GnuTLS (qemu's and libnbd's TLS) sends no RSA client certificate to the JDK's
 * certificate request (ECDSA ones it sends), and RSA keys are what {@code certtool} and {@code
 * openssl req} make by default.
 */
public final class TlsCredentials {
  private final SSLContext context;
  private final boolean verifyPeer;

  private TlsCredentials(SSLContext context, boolean verifyPeer) {
    this.context = context;
    this.verifyPeer = verifyPeer;
  }

  /** Loads {@code dir}, clients not asked for certificates. */
  public static TlsCredentials load(Path dir) throws IOException {
    return load(dir, false);
  }

  /**
   * Loads {@code dir}; with {@code verifyPeer}, clients must present a certificate {@code
   * ca-cert.pem} signed. Every problem is one line naming the file.
   */
  public static TlsCredentials load(Path dir, boolean verifyPeer) throws IOException {
    Path certFile = dir.resolve("server-cert.pem");
    Path keyFile = dir.resolve("server-key.pem");
    Path caFile = dir.resolve("ca-cert.pem");
    try {
      CertificateFactory cf = CertificateFactory.getInstance("X.509");
      List<Certificate> chain = new ArrayList<>();
      List<Certificate> authorities = new ArrayList<>();
      try (InputStream in = Files.newInputStream(certFile)) {
        chain.addAll(cf.generateCertificates(in));
      }
      if (chain.isEmpty()) {
        throw new IOException(certFile + ": no certificate in it");
      }
      if (Files.exists(caFile) || verifyPeer) {
        try (InputStream in = Files.newInputStream(caFile)) {
          authorities.addAll(cf.generateCertificates(in));
        }
        if (authorities.isEmpty()) {
          throw new IOException(caFile + ": no certificate in it");
        }
        chain.addAll(authorities);
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
      ctx.init(kmf.getKeyManagers(), verifyPeer ? trust(authorities) : null, null);
      return new TlsCredentials(ctx, verifyPeer);
    } catch (java.nio.file.NoSuchFileException e) {
      throw new java.nio.file.NoSuchFileException(
          e.getFile(),
          null,
          verifyPeer
              ? "missing (verifying clients needs server-cert.pem, server-key.pem and"
                  + " ca-cert.pem, the authority that signs the clients' certificates)"
              : "missing (a TLS credentials directory holds server-cert.pem and server-key.pem)");
    } catch (GeneralSecurityException | IllegalArgumentException e) {
      throw new IOException(dir + ": unusable TLS credentials: " + e.getMessage(), e);
    }
  }

  /** Trust in exactly these authorities, for the clients' certificates. */
  private static TrustManager[] trust(List<Certificate> authorities)
      throws IOException, GeneralSecurityException {
    KeyStore ts = KeyStore.getInstance("PKCS12");
    ts.load(null, null);
    for (int i = 0; i < authorities.size(); i++) {
      ts.setCertificateEntry("ca" + i, authorities.get(i));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(ts);
    return tmf.getTrustManagers();
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
    e.setNeedClientAuth(verifyPeer);
    if (verifyPeer) {
      e.setEnabledProtocols(new String[] {"TLSv1.2"});
    }
    return e;
  }
}
