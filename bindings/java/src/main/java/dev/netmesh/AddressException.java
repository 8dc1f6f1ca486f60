package dev.netmesh;

/** An address could not be parsed or bound (NM_ERR_ADDRESS). */
public class AddressException extends NetmeshException {
  AddressException(int status, String detail) { super(status, detail); }
}
