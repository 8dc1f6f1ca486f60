package dev.netmesh;

/** The node is shutting down or was closed meanwhile (NM_ERR_SHUTDOWN). */
public class ShutdownException extends NetmeshException {
  ShutdownException(int status, String detail) { super(status, detail); }
}
