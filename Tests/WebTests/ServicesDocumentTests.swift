import Hummingbird
import HummingbirdTesting
import PlanetMetrics
import Testing
@testable import Web

/// /api/v1/services from the API fixture: nginx serves 443 to one client; the upstreams of
/// app and the DNS client are not services.
struct ServicesDocumentTests {
    @Test func servicesListServedPortsWithTheirClients() async throws {
        let app = Application(router: WebServer.router(registry: MetricsRegistry(collectors: [], version: "1", revision: "a"),
                                                       ui: ApiFixture.sources))
        try await app.test(.router) { client in
            try await client.execute(uri: "/api/v1/services", method: .get) { response in
                #expect(response.status == .ok)
                let body = String(buffer: response.body)
                #expect(body == #"{"time":1005,"succeeded":true,"services":[{"protocol":"tcp","port":"443","process":"nginx","process_unit":"edge-proxy","#
                    + #""ingress_bytes":500,"egress_bytes":12000,"ingress_rate":10,"egress_rate":20,"rate":30,"clients":1,"#
                    + #""top_clients":[{"ip":"192.0.2.9","dns_name":"","hostgroup":"","domain":"","ingress_bytes":500,"egress_bytes":12000,"rate":30}],"#
                    + #""tcp":{"edges":0,"attempts":0,"established":0,"refused":0,"timed_out":0,"reset":0,"handshake_mean_microseconds":null}}]}"# + "\n",
                    "\(body)")
            }
            try await client.execute(uri: "/api/v1/services?top=0", method: .get) { response in
                #expect(response.status == .badRequest)
            }
        }
    }
}
