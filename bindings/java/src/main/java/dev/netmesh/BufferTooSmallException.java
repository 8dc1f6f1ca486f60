package dev.netmesh;

/**
 * A receive buffer was too small (NM_ERR_BUFFER_TOO_SMALL); the event stays queued and
 * needs {@link #needed()} bytes. {@link Stream#receive} handles this itself by growing.
 */
public class BufferTooSmallException extends NetmeshException {
  private final int needed;

  BufferTooSmallException(int status, String detail, int needed) {
    super(status, detail);
    this.needed = needed;
  }

  public int needed() { return needed; }
}
