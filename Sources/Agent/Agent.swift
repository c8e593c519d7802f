import Capture
import Diagnostics
import Foundation
import Hummingbird
import Inventory
import Listener
import Logging
import PlanetMetrics
import Migration
import NetAddress
import ServiceLifecycle
import Sockets
import Traffic
import Web

/// Wires the agent: the tasks as services, the collectors, and the HTTP endpoint, in one
/// ServiceGroup that shuts down gracefully on SIGTERM and SIGINT.
public enum AgentRuntime {
    /// What is done before the agent runs: the capture handles opened and, with
    /// -run-as-user, privileges dropped.
    public struct Prepared: Sendable {
        let configuration: AgentConfiguration
        let capture: CaptureTask?
    }

    /// Opens what needs privilege (capture handles), then drops privileges if asked to.
    /// Call it while the process has a single thread (see ``Privileges``).
    public static func prepare(_ configuration: AgentConfiguration, logger: Logger) throws -> Prepared {
        var capture: CaptureTask? = nil
        if configuration.captureEnabled {
            var settings = configuration.capture
            settings.interval = configuration.taskInterval
            let task = CaptureTask(settings: settings, logger: logger)
            task.openInterfaces()
            capture = task
        }
        if !configuration.runAsUser.isEmpty {
            // The listener is bound after the drop: a privileged port would then fail with EACCES.
            let unprivileged = (try? readFile("/proc/sys/net/ipv4/ip_unprivileged_port_start", limit: 32))
                .flatMap { Int(String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 1024
            if configuration.listenPort != 0 && configuration.listenPort < unprivileged {
                throw PrivilegeError("-run-as-user: port \(configuration.listenPort) of -listen-address is below \(unprivileged), which only root may bind; listen on a higher port (the default is 19100)")
            }
            let outcome = try Privileges.drop(
                to: configuration.runAsUser,
                keeping: Capability.needed(captureEnabled: configuration.captureEnabled,
                                           socketstatEnabled: configuration.socketstatEnabled))
            logger.info("running as \(configuration.runAsUser)", metadata: [
                "uid": "\(outcome.uid)", "gid": "\(outcome.gid)",
                "capabilities": "\(outcome.kept.map(\.name).joined(separator: ","))",
            ])
        }
        if configuration.socketstatEnabled {
            // Only pe-sockets reads other users' /proc/PID/fd: every other thread, started
            // after this point, runs without those two capabilities in effect.
            try Privileges.lowerEffective(Privileges.socketTableOnly)
        }
        return Prepared(configuration: configuration, capture: capture)
    }

    /// Runs the prepared agent until SIGTERM or SIGINT; `version` and `revision` are
    /// reported by planet_exporter_build_info and the page.
    public static func run(_ prepared: Prepared, version: String, revision: String, logger: Logger) async throws {
        let configuration = prepared.configuration
        var services: [any Service] = []
        var collectors: [any MetricsCollector] = []
        let hostAddress: @Sendable () -> IPAddress = { HostIdentity.primaryAddress() }

        var enrichment: @Sendable () -> Enrichment = { .none }
        var inventoryTask: InventoryTask? = nil
        if configuration.inventoryEnabled {
            let format = try InventoryFormat(flagValue: configuration.inventoryFormat)
            let task = InventoryTask(address: configuration.inventoryAddress, format: format,
                                     interval: configuration.taskInterval,
                                     fetcher: HTTPFetcher(maxBytes: configuration.fetchMaxBytes), logger: logger)
            inventoryTask = task
            enrichment = { task.enrichment(hostAddress: hostAddress()) }
        }

        // Exactly one source feeds planet_traffic_bytes_total, so bytes are never counted twice.
        let (feed, feedWarning) = TrafficFeed.select(captureEnabled: configuration.captureEnabled,
                                                     darkstatEnabled: configuration.darkstatEnabled)
        if let feedWarning { logger.warning("\(feedWarning)") }

        let capture = prepared.capture
        if let aggregator = capture?.aggregator {
            // Dependency gauges and the page name peers from the capture's DNS answers.
            let inventoryLabels = enrichment
            enrichment = {
                var labels = inventoryLabels()
                let names = aggregator.dnsNames()
                labels.dnsName = { names.name(for: $0) }
                return labels
            }
        }
        if let task = capture {
            services.append(task)
            collectors.append(CaptureCollector(rendersTraffic: feed == .capture, processUnitLabel: configuration.processUnitLabel,
                                               enrichment: enrichment) { task.reading() })
            collectors.append(TCPHealthCollector(processUnitLabel: configuration.processUnitLabel) {
                task.aggregator.tcpHealthSnapshot()
            })
        }

        if feed == .darkstat {
            logger.info("planet_traffic_bytes_total comes from darkstat at \(redactedURL(configuration.darkstatAddress))")
            let task = ScrapeTask.darkstat(address: configuration.darkstatAddress, interval: configuration.taskInterval,
                                           maxBytes: configuration.fetchMaxBytes, logger: logger)
            services.append(task)
            collectors.append(MigrationCollector.darkstat(enrichment: enrichment) { task.reading() })
        }

        if configuration.ebpfEnabled {
            let task = ScrapeTask.ebpf(address: configuration.ebpfAddress, interval: configuration.taskInterval,
                                       maxBytes: configuration.fetchMaxBytes, logger: logger)
            services.append(task)
            collectors.append(MigrationCollector.ebpf(enrichment: enrichment) { task.reading() })
        }

        var socketstat: SocketstatTask? = nil
        if configuration.socketstatEnabled {
            // Units are read with the owners' names, or not at all when the label is off.
            let reader = SocketTableReader(units: configuration.processUnitLabel ? ProcessUnitResolver() : nil)
            let task = SocketstatTask(reader: reader, interval: configuration.taskInterval, aggregator: capture?.aggregator,
                                      logger: logger)
            socketstat = task
            services.append(task)
            collectors.append(SocketstatCollector(maxSeries: configuration.dependencyMaxSeries,
                                                  processUnitLabel: configuration.processUnitLabel, enrichment: enrichment) {
                task.dependencies()
            })
        }

        if let inventoryTask {
            services.append(inventoryTask)
            collectors.append(InventoryCollector { inventoryTask.health() })
        }
        collectors.append(HostnameCollector(hostAddress: hostAddress, enrichment: enrichment))

        let history = configuration.webUIEnabled ? capture.map { HistoryTask(aggregator: $0.aggregator) } : nil
        if let aggregator = capture?.aggregator, !configuration.stateDirectory.isEmpty {
            // Restored before any service starts, so the first packets and the first
            // history sample already find what the previous run knew.
            let task = StateTask(directory: configuration.stateDirectory, aggregator: aggregator, history: history?.history,
                                 maxDNSNames: configuration.capture.maxDNSNames, interval: configuration.stateSaveInterval, logger: logger)
            task.restore()
            services.append(task)
            collectors.append(StateCollector { task.reading() })
        }

        var webSettings = configuration.web
        if let onDemand = configuration.captureOnDemand {
            // A capture's response lasts as long as the capture: the longest must be
            // sent whole within the response deadline, with time for its last blocks.
            let needed = Duration.seconds(onDemand.maxSeconds + responseMargin)
            if webSettings.limits.responseTimeout < needed {
                logger.info("-web.capture-enabled: -web.response-timeout is \(onDemand.maxSeconds + responseMargin)s so that a \(onDemand.maxSeconds)s capture is sent whole")
                webSettings.limits.responseTimeout = needed
            }
        }
        let listener = try WebListener(host: configuration.listenHost, port: configuration.listenPort,
                                       settings: webSettings, logger: logger)
        let responseMemory = ResponseMemory(limit: configuration.responseMemoryBytes)
        collectors.append(WebServerCollector {
            var reading = listener.reading()
            reading.responseMemory = responseMemory.reading
            return reading
        })
        var onDemand: (sources: CaptureOnDemandSources, counters: CaptureOnDemandCounters)? = nil
        if let settings = configuration.captureOnDemand {
            guard let capture, configuration.webUIEnabled else {
                throw CaptureOnDemandError(description: "-web.capture-enabled needs -task-capture-enabled and -web-ui-enabled (captures are served under /api/v1)")
            }
            let sources = try captureOnDemand(settings, capture: capture, listener: listener, version: version,
                                              hostAddress: hostAddress, enrichment: enrichment, logger: logger)
            let counters = CaptureOnDemandCounters(maxConcurrent: settings.maxConcurrent)
            collectors.append(CaptureOnDemandCollector(counters: counters))
            onDemand = (sources, counters)
        }
        let registry = MetricsRegistry(collectors: collectors, version: version, revision: revision)
        var ui: WebUISources? = nil
        if configuration.webUIEnabled {
            if let history { services.append(history) }
            ui = webUISources(capture: capture, history: history, socketstat: socketstat,
                              hostAddress: hostAddress, enrichment: enrichment)
        }
        let app = listener.makeApplication(router: WebServer.router(registry: registry, ui: ui, capture: onDemand,
                                                                    responseMemory: responseMemory),
                                           services: services)
        logger.info("planet-exporter \(version) listening on \(configuration.listenHost):\(configuration.listenPort)")
        try await app.runService(gracefulShutdownSignals: [.sigterm, .sigint])
    }
}
