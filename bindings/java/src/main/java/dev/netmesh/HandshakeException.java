package dev.netmesh;

/** The handshake got no valid answer: wrong PSK, public key or node id? (NM_ERR_HANDSHAKE). */
public class HandshakeException extends NetmeshException {
  HandshakeException(int status, String detail) { super(status, detail); }
}
