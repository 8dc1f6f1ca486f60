module netmesh.local/examples

go 1.21

require netmesh.local/netmesh v0.0.0

// The binding lives in this repository; nothing is downloaded.
replace netmesh.local/netmesh => ../../bindings/go
