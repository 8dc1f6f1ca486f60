module netmesh.local/netmesh

go 1.21
