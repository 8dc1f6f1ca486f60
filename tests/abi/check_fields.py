#!/usr/bin/env python3
"""Every field of every C ABI struct is mapped everywhere it has to be.

The field lists are the X-macros NM_FIELDS_<struct> in src/capi/struct_fields.h (static
asserts there tie each list to its struct in the headers: same fields, same order, no
padding). This script checks the lists against what the compiler cannot see:

  - the Go, Java and C# bindings read every field of an output struct, and read (the
    library's default) and write every field of an input struct, through the SWIG
    accessors (Go c.GetX()/c.SetX(), Java c.getX()/c.setX(), C# c.x), in the files that map
    that struct;
  - tests/interop/netmesh_ctypes.py mirrors every struct field by field, in order
    (struct_size and reserved bytes included: ctypes lays the struct out itself);
  - every struct in include/netmesh.h and include/netmesh_testing.h has a list.

So a field added to a struct and its list but forgotten in a binding or in the ctypes
mirror fails CTest (abi.fields_in_bindings), as does one added to the header alone (the
static asserts) or to the ctypes mirror alone (the interop layout test).

    tests/abi/check_fields.py [repo root]
"""
import importlib.util
import os
import re
import sys

ROOT = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", ".."))

# Structs without a field list, and why.
NO_LIST = {"nm_event_t": "two fields, frozen for good (an array element of the send calls)"}

GO = "bindings/go/"
JAVA = "bindings/java/src/main/java/dev/netmesh/"
CS = "bindings/csharp/src/"

# Which files map each struct. "in": the bindings read its defaults and write it;
# "out": they read it.
STRUCTS = {
    "nm_node_config_t": ("in", [GO + "netmesh.go"], [JAVA + "NodeConfig.java"], [CS + "Config.cs"], "NodeConfig"),
    "nm_stream_config_t": ("in", [GO + "stream.go"], [JAVA + "StreamConfig.java"], [CS + "Config.cs"], "StreamConfig"),
    "nm_stream_stats_t": ("out", [GO + "stats.go"], [JAVA + "StreamStats.java"], [CS + "Stats.cs"], "StreamStats"),
    "nm_node_stats_t": ("out", [GO + "stats.go"], [JAVA + "NodeStats.java"], [CS + "Stats.cs"], "NodeStats"),
    "nm_session_stats_t": ("out", [GO + "session_stats.go"], [JAVA + "SessionStats.java"], [CS + "SessionStats.cs"],
                           "SessionStats"),
    "nm_route_t": ("out", [GO + "mesh.go"], [JAVA + "Route.java"], [CS + "Mesh.cs"], "Route"),
    "nm_peer_event_t": ("out", [GO + "mesh.go"], [JAVA + "PeerEvent.java"], [CS + "Mesh.cs"], "PeerEvent"),
    "nm_impairment_t": ("in", [GO + "impairment.go"], [JAVA + "Impairment.java"], [CS + "Impairment.cs"], "Impairment"),
    "nm_impairment_stats_t": ("out", [GO + "impairment.go"], [JAVA + "ImpairmentStats.java"], [CS + "Impairment.cs"],
                              "ImpairmentStats"),
}

# (language, struct, field, direction) -> (reason, file, regex that must match instead);
# file None: nothing to check.
EXCEPTIONS = {
    ("go", "nm_node_config_t", "bind_addr", "set"): (
        "SWIG setters of const char* leak; nm_go_node_new takes it", "bindings/go/netmesh_go.i", r"c\.bind_addr\s*="),
    ("go", "nm_node_config_t", "identity_file", "set"): (
        "as bind_addr", "bindings/go/netmesh_go.i", r"c\.identity_file\s*="),
    ("cs", "nm_node_config_t", "bind_addr", "set"): (
        "SWIG setters of const char* leak; nm_cs_node_new takes it", "bindings/csharp/netmesh_csharp.i",
        r"c\.bind_addr\s*="),
    ("cs", "nm_node_config_t", "identity_file", "set"): (
        "as bind_addr", "bindings/csharp/netmesh_csharp.i", r"c\.identity_file\s*="),
}
for key in ("psk", "identity_seed", "static_private_key"):
    EXCEPTIONS[("go", "nm_node_config_t", key, "get")] = (
        "all-zero by contract, the Go zero value (the []byte typemap has no getter)", None, None)


def read(path):
    with open(os.path.join(ROOT, path), encoding="utf-8") as f:
        return f.read()


def field_lists():
    text = read("src/capi/struct_fields.h")
    lists = {}
    for m in re.finditer(r"#define NM_FIELDS_(\w+)\(X, T\)((?:[^\n]*\\\n)*[^\n]*\n)", text):
        entries = re.findall(r"X\(T, (\w+), (\w+)\)", m.group(2))
        lists[m.group(1)] = entries
    return lists


def header_structs():
    names = []
    for h in ("include/netmesh.h", "include/netmesh_testing.h"):
        names += re.findall(r"^typedef struct \w+ \{.*?^\} (\w+);", read(h), re.M | re.S)
    return names


def cap(name):
    return name[0].upper() + name[1:]


def patterns(lang, field):
    """(getter regex, setter regex) of the SWIG accessors."""
    if lang == "go":
        return r"\bGet%s\(" % cap(field), r"\bSet%s\(" % cap(field)
    if lang == "java":
        return r"\bget%s\(" % cap(field), r"\bset%s\(" % cap(field)
    return r"\.%s\b(?!\s*=[^=])" % field, r"\.%s\s*=[^=]" % field


def main():
    errors = []
    lists = field_lists()
    for s in header_structs():
        if s not in lists and s not in NO_LIST:
            errors.append(f"{s}: no NM_FIELDS_{s} list in src/capi/struct_fields.h")
    for s in lists:
        if s not in STRUCTS:
            errors.append(f"{s}: has a field list but no binding mapping in {__file__}")

    spec = importlib.util.spec_from_file_location("netmesh_ctypes", os.path.join(ROOT, "tests/interop/netmesh_ctypes.py"))
    ctypes_mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ctypes_mod)

    checked = 0
    for struct, (kind, go_files, java_files, cs_files, py_class) in STRUCTS.items():
        entries = lists.get(struct)
        if entries is None:
            errors.append(f"{struct}: no field list")
            continue
        fields = [name for role, name in entries if role not in ("SIZE", "RESERVED")]
        # ctypes: exactly the list, in order
        py_fields = [name for name, _ in getattr(ctypes_mod, py_class)._fields_]
        listed = [name for _, name in entries]
        if py_fields != listed:
            missing = [n for n in listed if n not in py_fields]
            extra = [n for n in py_fields if n not in listed]
            detail = (f"lacks {missing}" if missing else "") + (f" has extra {extra}" if extra else "")
            errors.append(f"{struct}: tests/interop/netmesh_ctypes.py {py_class} "
                          f"{detail.strip() or 'lists the fields in another order'}")
        for lang, files in (("go", go_files), ("java", java_files), ("cs", cs_files)):
            text = "".join(read(f) for f in files)
            # Two structs mapped in one file must not share a field name, or one could pass
            # for the other.
            for other, (_, og, oj, oc, _) in STRUCTS.items():
                other_files = {"go": og, "java": oj, "cs": oc}[lang]
                if other == struct or not set(files) & set(other_files) or other not in lists:
                    continue
                shared = set(fields) & {n for r, n in lists[other] if r not in ("SIZE", "RESERVED")}
                if shared:
                    errors.append(f"{struct} and {other} are mapped in the same {lang} file and share "
                                  f"{sorted(shared)}: this check cannot tell them apart")
            for field in fields:
                get, set_ = patterns(lang, field)
                for direction, rx in (("get", get), ("set", set_)):
                    if direction == "set" and kind == "out":
                        continue
                    checked += 1
                    exc = EXCEPTIONS.get((lang, struct, field, direction))
                    if exc:
                        reason, alt_file, alt_rx = exc
                        if alt_file and not re.search(alt_rx, read(alt_file)):
                            errors.append(f"{lang}: {struct}.{field} ({direction}) is handled in {alt_file} "
                                          f"({reason}), but /{alt_rx}/ is not there")
                        continue
                    if not re.search(rx, text):
                        what = "read" if direction == "get" else "written"
                        errors.append(f"{lang}: {struct}.{field} is never {what} in {', '.join(files)} "
                                      f"(looked for /{rx}/)")
    if errors:
        print("abi.fields_in_bindings: FAILED")
        for e in errors:
            print("  " + e)
        return 1
    total = sum(len(v) for v in lists.values())
    print(f"abi.fields_in_bindings: {len(lists)} structs, {total} fields, {checked} binding accessors "
          f"and the ctypes mirror agree with src/capi/struct_fields.h")
    return 0


if __name__ == "__main__":
    sys.exit(main())
