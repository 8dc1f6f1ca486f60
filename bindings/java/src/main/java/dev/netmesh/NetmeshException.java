package dev.netmesh;

import dev.netmesh.internal.netmesh;
import dev.netmesh.internal.nm_status;
import java.nio.charset.StandardCharsets;

/**
 * A netmesh call failed. {@link #status()} is the C {@code nm_status}; {@link #detail()} is
 * the library's {@code nm_last_error_message()}, captured by the JNI glue on the failing
 * thread right after the call. Subclasses name the statuses callers usually handle.
 */
public class NetmeshException extends RuntimeException {
  private final int status;
  private final String detail;

  NetmeshException(int status, String detail) {
    super(detail.isEmpty() ? netmesh.nm_strerror(status) : netmesh.nm_strerror(status) + ": " + detail);
    this.status = status;
    this.detail = detail;
  }

  public int status() { return status; }

  /** nm_strerror(status), e.g. "handshake failed". */
  public String statusName() { return netmesh.nm_strerror(status); }

  public String detail() { return detail; }

  /** Called from the JNI glue (see netmesh_java.i): value is the sent count or needed size. */
  static NetmeshException of(int status, byte[] detailUtf8, long value) {
    String d = new String(detailUtf8, StandardCharsets.UTF_8);
    switch (status) {
      case nm_status.NM_ERR_INVALID_ARGUMENT: return new InvalidArgumentException(status, d);
      case nm_status.NM_ERR_INVALID_HANDLE: return new InvalidHandleException(status, d);
      case nm_status.NM_ERR_WRONG_NODE: return new WrongNodeException(status, d);
      case nm_status.NM_ERR_NOT_CONNECTED: return new NotConnectedException(status, d);
      case nm_status.NM_ERR_BACKPRESSURE: return new BackpressureException(status, d, (int) value);
      case nm_status.NM_ERR_TRANSPORT: return new TransportException(status, d);
      case nm_status.NM_ERR_TIMEOUT: return new NetmeshTimeoutException(status, d, (int) value);
      case nm_status.NM_ERR_HANDSHAKE: return new HandshakeException(status, d);
      case nm_status.NM_ERR_EVENT_TOO_LARGE: return new EventTooLargeException(status, d);
      case nm_status.NM_ERR_BUFFER_TOO_SMALL: return new BufferTooSmallException(status, d, (int) value);
      case nm_status.NM_ERR_SHUTDOWN: return new ShutdownException(status, d);
      case nm_status.NM_ERR_ADDRESS: return new AddressException(status, d);
      case nm_status.NM_ERR_CRYPTO: return new CryptoException(status, d);
      default: return new NetmeshException(status, d);
    }
  }
}
