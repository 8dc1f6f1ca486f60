module netmesh.local/examples

go 1.21

require github.com/netmesh/netmesh/bindings/go v0.0.0

// The binding lives in this repository; nothing is downloaded.
replace github.com/netmesh/netmesh/bindings/go => ../../bindings/go
