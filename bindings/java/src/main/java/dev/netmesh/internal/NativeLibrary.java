package dev.netmesh.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.Locale;
import java.util.stream.Stream;

/**
 * Loads the native libraries once, before the first native call (from netmeshJNI's static
 * initializer), as sqlite-jdbc and zstd-jni do: the jar carries libnetmesh.so.0 and
 * libnetmesh_jni.so under {@code native/<os>-<arch>/}; they are copied to a private temporary
 * directory (removed when the JVM exits) and loaded from there, libnetmesh first, so the
 * JNI library's dependency is already in the process. An explicit path wins (a library
 * being developed): the system property {@code netmesh.jni.path}, else the environment
 * variable {@code NETMESH_JNI_PATH}; a jar without libraries for this platform falls back to
 * {@code java.library.path}.
 */
public final class NativeLibrary {
  public static final String PATH_PROPERTY = "netmesh.jni.path";
  public static final String PATH_ENV = "NETMESH_JNI_PATH";
  private static final String[] BUNDLED = {"libnetmesh.so.0", "libnetmesh_jni.so"};
  private static boolean loaded;

  private NativeLibrary() {}

  public static synchronized void load() {
    if (loaded) return;
    String path = System.getProperty(PATH_PROPERTY);
    if (path == null || path.isBlank()) path = System.getenv(PATH_ENV);
    try {
      if (path != null && !path.isBlank()) {
        System.load(Path.of(path).toAbsolutePath().toString());
      } else if (!loadBundled()) {
        System.loadLibrary("netmesh_jni");
      }
    } catch (UnsatisfiedLinkError e) {
      UnsatisfiedLinkError better = new UnsatisfiedLinkError(e.getMessage()
          + " (the jar has no native libraries for " + platform() + "; point -D" + PATH_PROPERTY
          + " or $" + PATH_ENV + " at a libnetmesh_jni.so)");
      better.initCause(e);
      throw better;
    }
    loaded = true;
  }

  /** The resource directory for this JVM's platform, as the jar names it. */
  static String platform() {
    String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
    if (arch.equals("amd64")) arch = "x86_64";
    if (arch.equals("arm64")) arch = "aarch64";
    return (os.startsWith("linux") ? "linux" : os.replace(' ', '_')) + "-" + arch;
  }

  /** Extracts and loads the jar's libraries for this platform; false if it has none. */
  private static boolean loadBundled() {
    String dir = "/native/" + platform() + "/";
    if (NativeLibrary.class.getResource(dir + BUNDLED[0]) == null) return false;
    Path tmp;
    try {
      tmp = Files.createTempDirectory("netmesh-native-");
      for (String name : BUNDLED) {
        try (InputStream in = NativeLibrary.class.getResourceAsStream(dir + name)) {
          if (in == null) throw new IOException(dir + name + " missing from the jar");
          Files.copy(in, tmp.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        }
      }
    } catch (IOException e) {
      throw new UnsatisfiedLinkError("cannot extract netmesh's native libraries: " + e);
    }
    Runtime.getRuntime().addShutdownHook(new Thread(() -> removeQuietly(tmp)));
    for (String name : BUNDLED) System.load(tmp.resolve(name).toString());
    return true;
  }

  private static void removeQuietly(Path dir) {
    try (Stream<Path> files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    } catch (IOException ignored) {
      // a temporary directory: the system cleans it eventually
    }
  }
}
