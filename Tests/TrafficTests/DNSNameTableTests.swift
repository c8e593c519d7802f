import NetAddress
import PacketDecoding
import Testing
import Traffic

/// Answers as the decoder gives them, made by hand.
func dnsAnswers(_ name: String, _ addresses: [String], ttl: UInt32 = 60, at time: Int64 = 1_000) -> DNSAnswers {
    var answers = DNSAnswers()
    for (index, byte) in name.utf8.enumerated() { answers.name[index] = byte }
    answers.nameLength = name.utf8.count
    for (index, text) in addresses.enumerated() {
        answers.addresses[index] = IPAddress(text)!
        answers.ttls[index] = ttl
    }
    answers.count = addresses.count
    answers.capturedAt = time
    return answers
}

struct DNSNameTableTests {
    @Test func everyAddressGetsTheAskedName() {
        var table = DNSNameTable(capacity: 10)
        table.record(dnsAnswers("www.example.com", ["10.0.0.1", "10.0.0.2", "2001:db8::1"]))
        #expect(table.count == 3)
        #expect(table.name(for: IPAddress("10.0.0.2")!) == "www.example.com")
        #expect(table.name(for: IPAddress("2001:db8::1")!) == "www.example.com")
        #expect(table.name(for: IPAddress("10.0.0.3")!) == "")
    }

    @Test func aNewerAnswerReplacesTheName() {
        var table = DNSNameTable(capacity: 10)
        table.record(dnsAnswers("old.example", ["10.0.0.1"]))
        table.record(dnsAnswers("new.example", ["10.0.0.1"]))
        #expect(table.count == 1)
        #expect(table.name(for: IPAddress("10.0.0.1")!) == "new.example")
    }

    @Test func namesOutliveTheirTTL() {
        var table = DNSNameTable(capacity: 10)
        table.record(dnsAnswers("short.example", ["10.0.0.1"], ttl: 1, at: 0))
        // Much later, nothing else recorded: the name is still there (no flapping label).
        table.record(dnsAnswers("other.example", ["10.0.0.2"], ttl: 1, at: 1_000_000))
        #expect(table.name(for: IPAddress("10.0.0.1")!) == "short.example")
    }

    @Test func whenFullTheLeastRecentlyAnsweredAreEvictedAndCounted() {
        var table = DNSNameTable(capacity: 16)
        // Sixteen addresses answered in turn, the first with the longest TTL.
        for index in 0..<16 {
            table.record(dnsAnswers("n\(index).example", ["10.0.1.\(index)"], ttl: UInt32(300 - 10 * index), at: 0))
        }
        #expect(table.count == 16)
        #expect(table.evicted == 0)
        table.record(dnsAnswers("late.example", ["10.0.2.1"], ttl: 5, at: 10))
        // A sixteenth of the capacity (one) goes: the one answered first, although it
        // expires last.
        #expect(table.count == 16)
        #expect(table.evicted == 1)
        #expect(table.name(for: IPAddress("10.0.1.0")!) == "")
        #expect(table.name(for: IPAddress("10.0.1.1")!) == "n1.example")
        #expect(table.name(for: IPAddress("10.0.2.1")!) == "late.example")
    }

    @Test func anAnswerAgainKeepsItsAddress() {
        var table = DNSNameTable(capacity: 2)
        table.record(dnsAnswers("a.example", ["10.0.0.1"], ttl: 100, at: 0))
        table.record(dnsAnswers("b.example", ["10.0.0.2"], ttl: 300, at: 0))
        table.record(dnsAnswers("a.example", ["10.0.0.1"], ttl: 100, at: 1))
        table.record(dnsAnswers("c.example", ["10.0.0.3"], ttl: 100, at: 2))
        // b expires last but was answered least recently.
        #expect(table.name(for: IPAddress("10.0.0.1")!) == "a.example")
        #expect(table.name(for: IPAddress("10.0.0.2")!) == "")
        #expect(table.name(for: IPAddress("10.0.0.3")!) == "c.example")
    }

    @Test func aTTLOfDecadesDoesNotPinAName() {
        var table = DNSNameTable(capacity: 2)
        table.record(dnsAnswers("forged.example", ["10.0.0.1"], ttl: UInt32(Int32.max), at: 0))
        table.record(dnsAnswers("real.example", ["10.0.0.2"], ttl: 60, at: 50_000))
        // Two days on, both have expired (the first at one day, its cap); the first,
        // answered less recently, goes.
        table.record(dnsAnswers("next.example", ["10.0.0.3"], ttl: 60, at: 2 * 86_400))
        #expect(table.name(for: IPAddress("10.0.0.1")!) == "")
        #expect(table.name(for: IPAddress("10.0.0.2")!) == "real.example")
    }

    @Test func expiredAnswersGoBeforeLiveOnes() {
        var table = DNSNameTable(capacity: 2)
        table.record(dnsAnswers("live.example", ["10.0.0.1"], ttl: 3_600, at: 0))
        table.record(dnsAnswers("gone.example", ["10.0.0.2"], ttl: 10, at: 5))
        table.record(dnsAnswers("new.example", ["10.0.0.3"], ttl: 60, at: 100))
        #expect(table.name(for: IPAddress("10.0.0.1")!) == "live.example")
        #expect(table.name(for: IPAddress("10.0.0.2")!) == "")
    }

    @Test func aFloodOfNewAddressesStaysBounded() {
        var table = DNSNameTable(capacity: 1000)
        for index in 0..<20_000 {
            table.record(dnsAnswers("host\(index % 3000).example", ["10.\(index >> 16).\((index >> 8) & 255).\(index & 255)"],
                                    ttl: 30, at: Int64(index)))
        }
        #expect(table.count <= 1000)
        #expect(table.evicted == UInt64(20_000 - table.count))
        // The latest answers are the ones kept.
        #expect(table.name(for: IPAddress("10.0.78.31")!) == "host\(19_999 % 3000).example")
        #expect(table.internedNames <= 1000)
    }

    @Test func namesNoAddressUsesAreReleasedAndReused() {
        var table = DNSNameTable(capacity: 2)
        table.record(dnsAnswers("a.example", ["10.0.0.1", "10.0.0.2"], ttl: 10, at: 0))
        #expect(table.internedNames == 1)
        table.record(dnsAnswers("b.example", ["10.0.0.1", "10.0.0.2"], ttl: 10, at: 5))
        #expect(table.internedNames == 1)
        #expect(table.name(for: IPAddress("10.0.0.1")!) == "b.example")
        // The same name again interns nothing new.
        table.record(dnsAnswers("b.example", ["10.0.0.2"], ttl: 10, at: 6))
        #expect(table.internedNames == 1)
    }

    @Test func anEvictionWhileRecordingKeepsTheNameBeingRecorded() {
        // Capacity 1: the second address of the answer evicts the first, whose name is the
        // one being recorded.
        var table = DNSNameTable(capacity: 1)
        table.record(dnsAnswers("solo.example", ["10.0.0.1", "10.0.0.2"]))
        #expect(table.count == 1)
        #expect(table.name(for: IPAddress("10.0.0.2")!) == "solo.example")
        #expect(table.evicted == 1)
    }

    @Test func capacityZeroKeepsNothing() {
        var table = DNSNameTable(capacity: 0)
        table.record(dnsAnswers("x.example", ["10.0.0.1"]))
        #expect(table.count == 0)
    }
}
