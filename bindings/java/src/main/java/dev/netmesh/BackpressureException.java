package dev.netmesh;

/**
 * The stream's credit window is exhausted (NM_ERR_BACKPRESSURE): the first {@link #sent()}
 * events of the batch went out, the rest did not. Retry later, or use sendBlocking.
 */
public class BackpressureException extends NetmeshException {
  private final int sent;

  BackpressureException(int status, String detail, int sent) {
    super(status, detail);
    this.sent = sent;
  }

  /** Events of the failed batch that were sent before credit ran out. */
  public int sent() { return sent; }
}
