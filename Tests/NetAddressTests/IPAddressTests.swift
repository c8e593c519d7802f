import Testing
import NetAddress

@Suite struct IPAddressTests {
    @Test func parsesAndFormatsIPv4() throws {
        let address = try #require(IPAddress("10.1.2.3"))
        #expect(address.isIPv4)
        #expect(address.ipv4Value == 0x0A01_0203)
        #expect(address.description == "10.1.2.3")
        #expect(address == IPAddress(ipv4: 0x0A01_0203))
    }

    @Test func parsesAndFormatsIPv6Canonically() throws {
        #expect(IPAddress("2001:DB8:0:0:0:0:0:1")?.description == "2001:db8::1")
        #expect(IPAddress("::1")?.isLoopback == true)
        #expect(IPAddress("fe80::1%eth0")?.isLinkLocal == true)
        #expect(IPAddress("::")?.isUnspecified == true)
    }

    @Test func mappedIPv4IsIPv4() {
        #expect(IPAddress("::ffff:192.0.2.7") == IPAddress("192.0.2.7"))
        #expect(IPAddress("::ffff:192.0.2.7")?.description == "192.0.2.7")
    }

    @Test(arguments: ["", "1.2.3", "1.2.3.4.5", "256.1.1.1", "01.2.3.4x", "1::2::3", "gggg::", "hello"])
    func rejectsGarbage(text: String) {
        #expect(IPAddress(text) == nil)
    }

    @Test func bytesRoundTrip() throws {
        let address = try #require(IPAddress("2001:db8:1:2:3:4:5:6"))
        #expect(IPAddress(bytes: address.bytes) == address)
        #expect(IPAddress(bytes: [1, 2, 3]) == nil)
    }

    @Test func ordersByValue() throws {
        let a = try #require(IPAddress("10.0.0.1")), b = try #require(IPAddress("10.0.0.2"))
        #expect(a < b)
        #expect(!(b < a))
    }
}

@Suite struct IPNetworkTests {
    @Test func containsByPrefix() throws {
        let net = try #require(IPNetwork("10.3.0.0/16"))
        #expect(net.contains(IPAddress("10.3.200.1")!))
        #expect(!net.contains(IPAddress("10.4.0.1")!))
        #expect(!net.contains(IPAddress("::ffff:10.3.0.1")!) == false, "mapped form is the same address")
    }

    @Test func clearsHostBitsAndKeepsWrittenLength() throws {
        let net = try #require(IPNetwork("192.168.1.77/24"))
        #expect(net.description == "192.168.1.0/24")
        #expect(net.bits == 120)
        #expect(IPNetwork("2001:db8::1/32")?.description == "2001:db8::/32")
    }

    @Test func zeroAndFullLengths() throws {
        #expect(IPNetwork("0.0.0.0/0")!.contains(IPAddress("203.0.113.9")!))
        #expect(!IPNetwork("0.0.0.0/0")!.contains(IPAddress("2001:db8::1")!), "families never mix")
        #expect(IPNetwork("::/0")!.contains(IPAddress("2001:db8::1")!))
        #expect(IPNetwork("10.0.0.1")?.prefixLength == 32)
        #expect(IPNetwork("::1")?.prefixLength == 128)
    }

    @Test(arguments: ["10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/-1", "10.0.0.0/8/8", "x/8", "10.0.0.0/ 8"])
    func rejectsBadBlocks(text: String) {
        #expect(IPNetwork(text) == nil)
    }
}
