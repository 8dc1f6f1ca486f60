package dev.netmesh;

/** Nothing happened within the timeout (NM_ERR_TIMEOUT). Named so as not to clash with java.util.concurrent.TimeoutException. */
public class NetmeshTimeoutException extends NetmeshException {
  NetmeshTimeoutException(int status, String detail) { super(status, detail); }
}
