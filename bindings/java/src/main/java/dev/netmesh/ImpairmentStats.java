package dev.netmesh;

import dev.netmesh.internal.nm_impairment_stats_t;

/**
 * Fault injection (testing): what a node's impairments did, every peer and both directions
 * summed (the C nm_impairment_stats_t of netmesh_testing.h), from
 * {@link Node#impairmentStats()}. seen counts the datagrams that went through an impairment.
 */
public record ImpairmentStats(long seen, long droppedLoss, long droppedBurst, long droppedRate,
                              long droppedOversize, long duplicated, long reordered, long delayed,
                              long corrupted, long droppedUndersize) {
  static ImpairmentStats from(nm_impairment_stats_t s) {
    return new ImpairmentStats(s.getSeen(), s.getDropped_loss(), s.getDropped_burst(),
        s.getDropped_rate(), s.getDropped_oversize(), s.getDuplicated(), s.getReordered(),
        s.getDelayed(), s.getCorrupted(), s.getDropped_undersize());
  }
}
