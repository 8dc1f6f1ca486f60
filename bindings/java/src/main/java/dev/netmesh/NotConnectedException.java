package dev.netmesh;

/** No session with the peer, or the stream was closed: a stale stream (NM_ERR_NOT_CONNECTED). */
public class NotConnectedException extends NetmeshException {
  NotConnectedException(int status, String detail) { super(status, detail); }
}
