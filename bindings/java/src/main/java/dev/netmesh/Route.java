package dev.netmesh;

import dev.netmesh.internal.nm_route_t;

/**
 * A route a node knows (the C nm_route_t), from {@link Node#routes()}: direct neighbours have
 * metric 1 and nextHop == dest; routes learnt from pingwaves have larger metrics. ageNs is
 * how long ago (nanoseconds) the route was last refreshed. Ids are unsigned in Java longs.
 */
public record Route(long dest, long nextHop, long metric, long ageNs) {
  static Route from(nm_route_t r) {
    return new Route(r.getDest(), r.getNext_hop(), r.getMetric(), r.getAge_ns());
  }
}
