// Package capi is the SWIG-generated binding of libnetmesh, built from ../../../netmesh.i
// at build time. Use package netmesh instead; this one is internal on purpose.
package capi

// The header is found through CGO_CFLAGS (-I <repo>/include) or, by default, the source tree;
// the library through CGO_LDFLAGS (-L <build dir>) and LD_LIBRARY_PATH at run time.

// #cgo CFLAGS: -I${SRCDIR}/../../../../include
// #cgo LDFLAGS: -lnetmesh
import "C"
