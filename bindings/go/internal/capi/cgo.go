// Package capi is the SWIG-generated binding of libnetmesh (capi.go and capi_wrap.c, made
// by ../../generate.sh from capi.i and committed). Use package netmesh instead; this one is
// internal on purpose.
package capi

// The header and the library come from pkg-config (netmesh.pc, installed with the library:
// PKG_CONFIG_PATH=<prefix>/lib/pkgconfig for a prefix pkg-config does not search). Its
// Libs carry the library's directory as a run path, so programs find it without
// LD_LIBRARY_PATH.

// #cgo pkg-config: netmesh
import "C"
