/// Which source feeds `planet_traffic_bytes_total`: exactly one, so bytes are never
/// counted twice.
public enum TrafficFeed: String, Sendable {
    case capture, darkstat, none

    /// Packet capture wins when both are enabled: it has ports, protocols and processes,
    /// and darkstat would count the same packets again. The warning says so for the log.
    public static func select(captureEnabled: Bool, darkstatEnabled: Bool) -> (feed: TrafficFeed, warning: String?) {
        switch (captureEnabled, darkstatEnabled) {
        case (true, true):
            return (.capture, "both -task-capture-enabled and -task-darkstat-enabled are set; "
                + "planet_traffic_bytes_total comes from packet capture and darkstat is not scraped "
                + "(set -task-capture-enabled=false to keep darkstat)")
        case (true, false): return (.capture, nil)
        case (false, true): return (.darkstat, nil)
        case (false, false): return (.none, nil)
        }
    }
}
