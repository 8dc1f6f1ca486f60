// Conversions between the C structs of the ABI and the C++ types behind them, driven by the
// field lists (struct_fields.h): COPY fields are copied by name, CONVERT fields here by hand.
// The defaults of the *_init functions are the C++ types' defaults (one place for each).
#pragma once
#include "netmesh.h"
#include "netmesh_testing.h"
#include "node/impairment.h"
#include "node/node_config.h"
#include "stream/stream_config.h"

namespace nm::capi {

// The defaults of nm_node_config_init, nm_stream_config_init and nm_impairment_init.
const nm_node_config_t& default_node_config();
const nm_stream_config_t& default_stream_config();
const nm_impairment_t& default_impairment();

// A validated (read_sized) C config into the C++ one; checks values, as nm_node_new
// documents. bind_addr and identity_file are copied: the C strings may go after this.
nm_status to_node_config(const nm_node_config_t& c, node::NodeConfig& out);
nm_status to_stream_config(const nm_stream_config_t& c, stream::StreamConfig& out);
nm_status to_impairment(const nm_impairment_t& c, node::ImpairmentConfig& out);
nm_impairment_stats_t to_impairment_stats(const node::ImpairmentCounters& c);

}  // namespace nm::capi
