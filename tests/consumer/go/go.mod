module example.com/netmesh-consumer

go 1.21

require github.com/netmesh/netmesh/bindings/go v0.3.0

// consumer.sh points this at the installed module (<prefix>/share/netmesh/go):
// replace github.com/netmesh/netmesh/bindings/go => /usr/local/share/netmesh/go
