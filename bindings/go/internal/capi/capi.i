/* The input of generate.sh (swig -go -cgo, module "capi"): it writes capi.go and
 * capi_wrap.c next to this file, which are committed, so that a Go user needs no swig.
 * Everything is in the shared interface (and its Go typemaps in ../../netmesh_go.i). */
%include "../../../netmesh.i"
