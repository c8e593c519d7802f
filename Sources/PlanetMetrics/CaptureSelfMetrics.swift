import Exposition
import PacketDecoding
import Traffic

/// One capture source's counters, labelled with its interface or file.
public typealias SourceCounters = (interface: String, counters: CaptureCounters)

/// Renders the capture and traffic self-metrics (planet_traffic_bytes_total itself is
/// written by TrafficRenderer, part by part).
public enum CaptureSelfMetrics {
    /// Writes the capture and traffic self-metrics.
    public static func render(_ snapshot: TrafficSnapshot, sources: [SourceCounters], into writer: inout ExpositionWriter) {
        perSource("planet_capture_packets_total", help: "Frames captured and handed to the agent", \.packets, sources, into: &writer)
        perSource("planet_capture_dropped_packets_total", help: "Packets dropped by the kernel or the interface before capture (pcap_stats)", \.kernelDropped, sources, into: &writer)
        perSource("planet_capture_ring_dropped_packets_total", help: "Packets dropped because the ring to the aggregator was full", \.ringDropped, sources, into: &writer)
        writer.family("planet_capture_undecoded_packets_total", help: "Captured frames that were not counted as IP traffic, by reason", kind: .counter)
        for source in sources {
            for status in DecodeStatus.allCases where status != .ok {
                writer.sample("planet_capture_undecoded_packets_total",
                              labels: [("interface", source.interface), ("reason", status.reason)],
                              source.counters.undecoded[Int(status.rawValue)])
            }
        }
        writer.family("planet_capture_undecoded_bytes_total", help: "Wire bytes of captured frames that were not counted as IP traffic, by reason", kind: .counter)
        for source in sources {
            for status in DecodeStatus.allCases where status != .ok {
                writer.sample("planet_capture_undecoded_bytes_total",
                              labels: [("interface", source.interface), ("reason", status.reason)],
                              source.counters.bytes.undecodedBytes(status))
            }
        }
        perSource("planet_capture_wire_bytes_total", help: "Wire bytes of the frames captured (their length on the wire, link layer included)", \.bytes.wireBytes, sources, into: &writer)
        perSource("planet_capture_decoded_packets_total", help: "Captured frames that decoded to an IP packet", \.decoded, sources, into: &writer)
        perSource("planet_capture_decoded_wire_bytes_total", help: "Wire bytes of the captured frames that decoded to an IP packet", \.bytes.decodedWireBytes, sources, into: &writer)
        perSource("planet_capture_decoded_ip_bytes_total", help: "IP bytes of the decoded packets, as the traffic counters count them", \.bytes.decodedIPBytes, sources, into: &writer)
        writer.family("planet_capture_clamped_packets_total", help: "Decoded packets whose IP length field claimed more than the frame carried on the wire, counted at the wire length, by field", kind: .counter)
        for source in sources {
            for (reason, packets) in source.counters.bytes.clamped {
                writer.sample("planet_capture_clamped_packets_total",
                              labels: [("interface", source.interface), ("reason", reason)], packets)
            }
        }
        perSource("planet_capture_ring_dropped_bytes_total", help: "IP bytes of the packets dropped because the ring to the aggregator was full", \.bytes.ringDroppedIPBytes, sources, into: &writer)
        writer.family("planet_capture_unattributed_bytes_total", help: "IP bytes not counted against a peer, by reason", kind: .counter)
        for reason in UnattributedReason.allCases {
            writer.sample("planet_capture_unattributed_bytes_total", labels: [("reason", reason.label)],
                          snapshot.unattributedBytes[reason.rawValue])
        }
        writer.family("planet_traffic_process_bytes_total", help: "IP bytes counted against a peer, by whether the local process was resolved", kind: .counter)
        writer.sample("planet_traffic_process_bytes_total", labels: [("resolved", "false")], snapshot.processUnattributedBytes)
        writer.sample("planet_traffic_process_bytes_total", labels: [("resolved", "true")], snapshot.processAttributedBytes)
        writer.family("planet_traffic_process_names_refused_total", help: "Process names counted as \"\" because every name id was in use by a series", kind: .counter)
        writer.sample("planet_traffic_process_names_refused_total", [:], snapshot.processNamesRefused)
        writer.family("planet_traffic_series", help: "Traffic series held in memory", kind: .gauge)
        writer.sample("planet_traffic_series", [:], UInt64(snapshot.seriesCount))
        writer.family("planet_traffic_series_limit", help: "Most traffic series held in memory (-capture-max-series); past it the least recently active are evicted", kind: .gauge)
        writer.sample("planet_traffic_series_limit", [:], UInt64(snapshot.seriesLimit))
        writer.family("planet_traffic_evicted_series_total", help: "Traffic series evicted because the series limit was reached", kind: .counter)
        writer.sample("planet_traffic_evicted_series_total", [:], snapshot.evictedSeries)
        writer.family("planet_traffic_evicted_bytes_total", help: "Bytes the evicted traffic series had counted", kind: .counter)
        writer.sample("planet_traffic_evicted_bytes_total", [:], snapshot.evictedBytes)
        writer.family("planet_traffic_held_bytes", help: "Bytes held until the next socket-table reading names their process", kind: .gauge)
        writer.sample("planet_traffic_held_bytes", [:], snapshot.heldBytes)
        renderDNS(snapshot, sources: sources, into: &writer)
    }

    /// The DNS responses decoded for peer names, and the bounded table of names.
    static func renderDNS(_ snapshot: TrafficSnapshot, sources: [SourceCounters], into writer: inout ExpositionWriter) {
        writer.family("planet_dns_responses_total", help: "DNS messages from port 53 (UDP datagrams, TCP segments with data) decoded for the remote_dns_name label, by result", kind: .counter)
        for source in sources {
            for status in DNSStatus.allCases {
                writer.sample("planet_dns_responses_total", labels: [("interface", source.interface), ("result", status.reason)],
                              source.counters.dns[status])
            }
        }
        writer.family("planet_dns_answers_refused_total", help: "DNS responses with addresses that named nothing because they answered no query seen to port 53, by reason", kind: .counter)
        for source in sources {
            for reason in DNSQueryMatch.allCases where reason != .matched {
                writer.sample("planet_dns_answers_refused_total", labels: [("interface", source.interface), ("reason", reason.reason)],
                              source.counters.dns[refused: reason])
            }
        }
        perSource("planet_dns_queries_total", help: "DNS queries to port 53 remembered for their response to answer", \.dns.queries, sources, into: &writer)
        perSource("planet_dns_queries_dropped_total", help: "DNS queries to port 53 not remembered because the table of outstanding queries had no room", \.dns.queriesDropped, sources, into: &writer)
        perSource("planet_dns_queries_spoofed_total", help: "DNS queries to port 53 not remembered because their source was one of the host's addresses in a frame another host sent", \.dns.queriesSpoofed, sources, into: &writer)
        perSource("planet_dns_ring_dropped_responses_total", help: "DNS responses with addresses lost because the ring to the aggregator was full", \.dns.ringDropped, sources, into: &writer)
        perSource("planet_dns_dropped_addresses_total", help: "Addresses of DNS responses past the 16 kept per response", \.dns.droppedAddresses, sources, into: &writer)
        writer.family("planet_dns_names", help: "Peer addresses held with the name the host asked DNS for", kind: .gauge)
        writer.sample("planet_dns_names", [:], UInt64(snapshot.dnsNames.count))
        writer.family("planet_dns_evicted_names_total", help: "Peer addresses evicted from the DNS name table past -capture-dns-max-names, expired answers first, least recently answered first", kind: .counter)
        writer.sample("planet_dns_evicted_names_total", [:], snapshot.dnsNames.evicted)
    }

    /// One counter family with a sample per capture source, labelled with its interface.
    private static func perSource(_ name: String, help: String, _ value: (CaptureCounters) -> UInt64,
                                  _ sources: [SourceCounters], into writer: inout ExpositionWriter) {
        writer.family(name, help: help, kind: .counter)
        for source in sources {
            writer.sample(name, labels: [("interface", source.interface)], value(source.counters))
        }
    }
}
