package dev.netmesh.internal;

import java.nio.file.Path;

/**
 * Loads libnetmesh_jni.so once, before the first native call (from netmeshJNI's static
 * initializer). An explicit path wins, so tests and examples run against a fresh build
 * without installing anything: the system property {@code netmesh.jni.path}, else the
 * environment variable {@code NETMESH_JNI_PATH}, else {@code java.library.path}.
 * libnetmesh_jni.so finds libnetmesh.so itself (rpath or the usual linker search).
 */
public final class NativeLibrary {
  public static final String PATH_PROPERTY = "netmesh.jni.path";
  public static final String PATH_ENV = "NETMESH_JNI_PATH";
  private static boolean loaded;

  private NativeLibrary() {}

  public static synchronized void load() {
    if (loaded) return;
    String path = System.getProperty(PATH_PROPERTY);
    if (path == null || path.isBlank()) path = System.getenv(PATH_ENV);
    try {
      if (path != null && !path.isBlank()) {
        System.load(Path.of(path).toAbsolutePath().toString());
      } else {
        System.loadLibrary("netmesh_jni");
      }
    } catch (UnsatisfiedLinkError e) {
      UnsatisfiedLinkError better = new UnsatisfiedLinkError(e.getMessage()
          + " (point -D" + PATH_PROPERTY + " or $" + PATH_ENV + " at libnetmesh_jni.so,"
          + " built by bindings/java/test.sh)");
      better.initCause(e);
      throw better;
    }
    loaded = true;
  }
}
