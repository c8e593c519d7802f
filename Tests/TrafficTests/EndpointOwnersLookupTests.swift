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

    /// A connected socket answers for its port alone only on its own side of loopback: a
    /// client's ephemeral port is often in use by a loopback connection too (a local
    /// Prometheus scraping the agent), and that one never carries the client's packets.
    @Test func aPortAloneNamesNoProcessAcrossLoopback() {
        let owners = EndpointOwners(sockets: [
            EndpointOwners.Socket(ipProtocol: 6, isListener: false, address: IPAddress("127.0.0.1")!, port: 45000, processName: "prometheus"),
            EndpointOwners.Socket(ipProtocol: 6, isListener: false, address: IPAddress("10.0.0.5")!, port: 45001, processName: "curl"),
            EndpointOwners.Socket(ipProtocol: 6, isListener: false, address: IPAddress("::1")!, port: 45002, processName: "grpc"),
        ])
        func name(_ address: String, _ port: UInt16) -> String? {
            owners.processName(ipProtocol: 6, localAddress: IPAddress(address)!, localPort: port)
        }
        #expect(name("127.0.0.1", 45000) == "prometheus")
        #expect(name("127.0.0.2", 45000) == "prometheus", "by port, on loopback")
        #expect(name("10.0.0.5", 45000) == nil)
        #expect(name("10.0.0.99", 45001) == "curl", "by port, off loopback")
        #expect(name("127.0.0.1", 45001) == nil)
        #expect(name("127.0.0.1", 45002) == "grpc", "::1 and 127/8 are one side")
        #expect(name("2001:db8::5", 45002) == nil)
    }

    /// For a packet captured before a reading, the previous reading's socket bound to the
    /// packet's address names it before this reading's socket that only has the port.
    @Test func theEndpointThatWentNamesItsPacketsBeforeAnotherAddressOnItsPort() {
        let client = IPAddress("10.0.0.5")!
        let first = EndpointOwners(sockets: [
            EndpointOwners.Socket(ipProtocol: 6, isListener: false, address: client, port: 41000, processName: "curl"),
        ], readAt: 1_000_000)
        let second = EndpointOwners(sockets: [
            EndpointOwners.Socket(ipProtocol: 6, isListener: false, address: IPAddress("10.0.0.6")!, port: 41000, processName: "wget"),
        ], readAt: 2_000_000, previous: first)
        #expect(second.process(ipProtocol: 6, localAddress: client, localPort: 41000, capturedAt: 1_999_999)?.name == "curl")
        #expect(second.process(ipProtocol: 6, localAddress: client, localPort: 41000, capturedAt: 2_000_000)?.name == "wget")
        // Nor does the previous reading's port-alone match beat this reading's bound one.
        let third = EndpointOwners(sockets: [
            EndpointOwners.Socket(ipProtocol: 6, isListener: false, address: client, port: 41000, processName: "ssh"),
        ], readAt: 3_000_000, previous: second)
        #expect(third.process(ipProtocol: 6, localAddress: client, localPort: 41000, capturedAt: 2_999_999)?.name == "ssh")
        #expect(third.process(ipProtocol: 6, localAddress: IPAddress("10.0.0.7")!, localPort: 41000, capturedAt: 2_999_999)?.name == "ssh")
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
