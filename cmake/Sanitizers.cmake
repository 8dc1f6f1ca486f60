# NETMESH_SANITIZE=address: ASan + UBSan (any UB aborts); =thread: TSan. Applied to every
# target (library, tests, examples). scripts/sanitize.sh builds both (build-asan, build-tsan).
set(NETMESH_SANITIZE "" CACHE STRING "Sanitizer build: '' (none), 'address' (ASan+UBSan) or 'thread' (TSan)")
set_property(CACHE NETMESH_SANITIZE PROPERTY STRINGS "" address thread)
if(NETMESH_SANITIZE STREQUAL "address")
  set(NETMESH_SANITIZER_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=undefined
      -fno-omit-frame-pointer)
elseif(NETMESH_SANITIZE STREQUAL "thread")
  set(NETMESH_SANITIZER_FLAGS -fsanitize=thread -fno-omit-frame-pointer)
elseif(NOT NETMESH_SANITIZE STREQUAL "")
  message(FATAL_ERROR "NETMESH_SANITIZE must be empty, 'address' or 'thread'")
endif()
if(NETMESH_SANITIZER_FLAGS)
  add_compile_options(${NETMESH_SANITIZER_FLAGS})
  add_link_options(${NETMESH_SANITIZER_FLAGS})
endif()

# NETMESH_FUZZ: libFuzzer targets in tests/fuzz (clang only). netmesh_core and the targets are
# built with -fsanitize=fuzzer-no-link,address,undefined; nothing else is built by the fuzz
# targets' own build (cmake --build <dir> --target netmesh_fuzzers).
option(NETMESH_FUZZ "Build the libFuzzer targets (clang only)" OFF)
if(NETMESH_FUZZ AND NOT CMAKE_CXX_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "NETMESH_FUZZ needs clang (configure with CC=clang CXX=clang++)")
endif()
