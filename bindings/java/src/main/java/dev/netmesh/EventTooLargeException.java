package dev.netmesh;

/** An event is longer than the stream allows (NM_ERR_EVENT_TOO_LARGE). */
public class EventTooLargeException extends NetmeshException {
  EventTooLargeException(int status, String detail) { super(status, detail); }
}
