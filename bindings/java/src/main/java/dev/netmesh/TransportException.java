package dev.netmesh;

/** The socket refused the datagram (NM_ERR_TRANSPORT). */
public class TransportException extends NetmeshException {
  TransportException(int status, String detail) { super(status, detail); }
}
