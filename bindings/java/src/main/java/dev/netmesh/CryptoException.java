package dev.netmesh;

/** The crypto library failed (NM_ERR_CRYPTO). */
public class CryptoException extends NetmeshException {
  CryptoException(int status, String detail) { super(status, detail); }
}
