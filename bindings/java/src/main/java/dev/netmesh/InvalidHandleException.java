package dev.netmesh;

/** The node or stream was closed, or the handle is of the wrong kind (NM_ERR_INVALID_HANDLE). */
public class InvalidHandleException extends NetmeshException {
  InvalidHandleException(int status, String detail) { super(status, detail); }
}
