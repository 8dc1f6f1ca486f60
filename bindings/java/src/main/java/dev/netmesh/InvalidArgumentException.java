package dev.netmesh;

/** A NULL-like, badly sized or out-of-range argument or config value (NM_ERR_INVALID_ARGUMENT). */
public class InvalidArgumentException extends NetmeshException {
  InvalidArgumentException(int status, String detail) { super(status, detail); }
}
