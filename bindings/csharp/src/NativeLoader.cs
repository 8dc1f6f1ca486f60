using System;
using System.IO;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Netmesh
{
    /// <summary>Makes the native libraries available before the first P/Invoke (each public
    /// entry class calls <see cref="Load"/> from its static constructor). Netmesh.dll carries
    /// libnetmesh.so.0 and its glue libnetmesh_csharp.so as embedded resources: unless the
    /// glue already sits beside the DLL (a build tree), they are copied to a private temporary
    /// directory and loaded there with RTLD_GLOBAL; the runtime's lookup of "netmesh_csharp"
    /// then finds the loaded library by its soname. So a program needs only a reference to
    /// Netmesh.dll: no LD_LIBRARY_PATH, no dllmap.</summary>
    static class NativeLoader
    {
        const string Glue = "libnetmesh_csharp.so";
        static readonly string[] Bundled = { "libnetmesh.so.0", Glue }; // dependency first
        static readonly object Gate = new object();
        static bool loaded;

        const int RTLD_NOW = 2, RTLD_GLOBAL = 0x100;
        [DllImport("libdl.so.2")] static extern IntPtr dlopen(string file, int mode);
        [DllImport("libdl.so.2")] static extern IntPtr dlerror();

        internal static void Load()
        {
            lock (Gate)
            {
                if (loaded) return;
                loaded = true;
                Assembly self = typeof(NativeLoader).Assembly;
                string beside = Path.GetDirectoryName(self.Location) ?? "";
                if (File.Exists(Path.Combine(beside, Glue))) return; // the runtime finds it there
                if (self.GetManifestResourceInfo(ResourceName(Glue)) == null) return; // not carried
                string dir = Path.Combine(Path.GetTempPath(), "netmesh-native-" + Guid.NewGuid().ToString("N"));
                Directory.CreateDirectory(dir);
                foreach (string name in Bundled)
                {
                    string path = Path.Combine(dir, name);
                    using (System.IO.Stream from = self.GetManifestResourceStream(ResourceName(name)))
                    using (FileStream to = File.Create(path))
                        from.CopyTo(to);
                    if (dlopen(path, RTLD_NOW | RTLD_GLOBAL) == IntPtr.Zero)
                        throw new DllNotFoundException("netmesh: cannot load " + path + ": " +
                                                       Marshal.PtrToStringAnsi(dlerror()));
                }
                // Loaded: the files can go (the mappings stay).
                try { Directory.Delete(dir, true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
            }
        }

        static string ResourceName(string file) => "Netmesh.native.linux-x64." + file;
    }
}
