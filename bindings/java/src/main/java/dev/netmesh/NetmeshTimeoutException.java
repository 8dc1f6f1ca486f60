package dev.netmesh;

/** Nothing happened within the timeout (NM_ERR_TIMEOUT). Named so as not to clash with java.util.concurrent.TimeoutException. */
public class NetmeshTimeoutException extends NetmeshException {
  private final int sent;

  NetmeshTimeoutException(int status, String detail) { this(status, detail, 0); }

  NetmeshTimeoutException(int status, String detail, int sent) {
    super(status, detail);
    this.sent = sent;
  }

  /** For a send: how many of the batch's events went out before the timeout. */
  public int sent() { return sent; }
}
