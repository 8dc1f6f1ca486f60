module netmesh.local/bench

go 1.21

require github.com/netmesh/netmesh/bindings/go v0.0.0

replace github.com/netmesh/netmesh/bindings/go => ../../../bindings/go
