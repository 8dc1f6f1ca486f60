package dev.netmesh;

/** The stream belongs to another node (NM_ERR_WRONG_NODE). */
public class WrongNodeException extends NetmeshException {
  WrongNodeException(int status, String detail) { super(status, detail); }
}
