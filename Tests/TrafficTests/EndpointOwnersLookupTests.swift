import NetAddress
import TestSupport
import Testing
import Traffic

/// The owner lookups the packet path makes: exact endpoints, wildcards, ports no socket holds.
struct EndpointOwnersLookupTests {
    @Test func aPortHeldInOneProtocolOnlyNamesNothingInTheOther() {
        let owners = EndpointOwners(sockets: [
            EndpointOwners.Socket(ipProtocol: 6, isListener: true, address: .zero, port: 53, processName: "named"),
        ])
        #expect(owners.processName(ipProtocol: 6, localAddress: IPAddress("10.0.0.5")!, localPort: 53) == "named")
        #expect(owners.processName(ipProtocol: 17, localAddress: IPAddress("10.0.0.5")!, localPort: 53) == nil)
        #expect(owners.processName(ipProtocol: 6, localAddress: IPAddress("10.0.0.5")!, localPort: 54) == nil)
    }

    /// Thousands of connected sockets, each with a process of its own, on random endpoints:
    /// each is found by its exact endpoint, and a port none of them holds finds nothing.
    @Test func everyEndpointOfALargeTableIsFound() {
        var random = SplitMix(seed: 11)
        var sockets: [EndpointOwners.Socket] = []
        var used = Set<LocalEndpoint>()
        while sockets.count < 5000 {
            let proto: UInt8 = random.next() & 1 == 0 ? 6 : 17
            let address = IPAddress(ipv4: 0x0A00_0000 | UInt32(truncatingIfNeeded: random.next() & 0xFF))
            let port = UInt16(truncatingIfNeeded: 1024 + random.next() % 20_000)
            guard used.insert(LocalEndpoint(proto, address, port)).inserted else { continue }
            sockets.append(EndpointOwners.Socket(ipProtocol: proto, isListener: false, address: address, port: port,
                                                 processName: "p\(sockets.count)"))
        }
        let owners = EndpointOwners(sockets: sockets)
        for socket in sockets {
            #expect(owners.processName(ipProtocol: socket.ipProtocol, localAddress: socket.address, localPort: socket.port)
                    == socket.processName)
        }
        for port in UInt16(30_000)..<30_100 {
            #expect(owners.processIndex(ipProtocol: 17, localAddress: IPAddress("10.0.0.1")!, localPort: port) == 0)
        }
    }
}
