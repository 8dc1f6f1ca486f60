module github.com/netmesh/netmesh/bindings/go

go 1.21
