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

    /// A reading taken just after a connection closed (its socket in TIME_WAIT, owned by
    /// nobody) still names its process for the packets captured before the reading, from
    /// the reading before it; never for later packets, and never from older readings.
    @Test func packetsCapturedBeforeAReadingAreNamedByThePreviousOneToo() {
        let client = IPAddress("10.0.0.5")!
        let first = EndpointOwners(sockets: [
            EndpointOwners.Socket(ipProtocol: 6, isListener: false, address: client, port: 41000, processName: "curl"),
            EndpointOwners.Socket(ipProtocol: 6, isListener: true, address: .zero, port: 22, processName: "sshd"),
        ], readAt: 1_000_000)
        let second = EndpointOwners(sockets: [
            EndpointOwners.Socket(ipProtocol: 6, isListener: true, address: .zero, port: 22, processName: "sshd"),
            EndpointOwners.Socket(ipProtocol: 17, isListener: false, address: client, port: 41000, processName: "dig"),
        ], readAt: 2_000_000, previous: first)
        #expect(second.process(ipProtocol: 6, localAddress: client, localPort: 41000, capturedAt: 1_999_999)?.name == "curl")
        #expect(second.process(ipProtocol: 6, localAddress: client, localPort: 41000, capturedAt: 2_000_000) == nil)
        #expect(second.process(ipProtocol: 6, localAddress: client, localPort: 41000) == nil, "this reading alone")
        // This reading's owner wins, and the other protocol on the same port is its own endpoint.
        #expect(second.process(ipProtocol: 6, localAddress: client, localPort: 22, capturedAt: 0)?.name == "sshd")
        #expect(second.process(ipProtocol: 17, localAddress: client, localPort: 41000, capturedAt: 0)?.name == "dig")
        // Indexes point into this reading's processes, which carry the previous one's too.
        let index = second.processIndex(ipProtocol: 6, localAddress: client, localPort: 41000, capturedAt: 1)
        #expect(second.processes[Int(index)].name == "curl")
        #expect(Set(second.processes.map(\.name)) == ["", "sshd", "dig", "curl"])
        // Two readings at most: the third does not reach back to the first.
        let third = EndpointOwners(sockets: [], readAt: 3_000_000, previous: second)
        #expect(third.process(ipProtocol: 6, localAddress: client, localPort: 41000, capturedAt: 1) == nil)
        #expect(third.process(ipProtocol: 17, localAddress: client, localPort: 41000, capturedAt: 2_500_000)?.name == "dig")
        #expect(Set(third.processes.map(\.name)) == ["", "sshd", "dig"], "the first reading's processes are gone")
    }

    /// A reading whose time is unknown (0) never asks the previous one.
    @Test func aReadingWithoutATimeAnswersAlone() {
        let client = IPAddress("10.0.0.5")!
        let first = EndpointOwners(sockets: [
            EndpointOwners.Socket(ipProtocol: 6, isListener: false, address: client, port: 41000, processName: "curl"),
        ])
        let second = EndpointOwners(sockets: [], previous: first)
        #expect(second.process(ipProtocol: 6, localAddress: client, localPort: 41000, capturedAt: 0) == nil)
    }
}
