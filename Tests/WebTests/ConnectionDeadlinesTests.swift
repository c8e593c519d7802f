import NIOCore
import NIOEmbedded
import Testing
@testable import Listener
@testable import Web

@Suite struct ConnectionDeadlinesTests {
    let start = ContinuousClock.now

    func deadlines() -> ConnectionDeadlines {
        ConnectionDeadlines(headTimeout: .seconds(10), writeTimeout: .seconds(30), openedAt: start)
    }

    @Test func aHeadMustCompleteInTimeHoweverSlowlyItsBytesCome() {
        var connection = deadlines()
        #expect(connection.nextDeadline == start + .seconds(10))
        // A byte every few seconds does not move the deadline (slowloris).
        connection.bytesRead(at: start + .seconds(4))
        connection.bytesRead(at: start + .seconds(8))
        #expect(connection.expired(at: start + .seconds(9)) == nil)
        #expect(connection.expired(at: start + .seconds(10)) == .headerTimeout)
    }

    @Test func aKeptAliveConnectionWaitsForTheFirstByteThenForTheHead() {
        var connection = deadlines()
        connection.headReceived(at: start)
        #expect(connection.nextDeadline == nil)
        connection.responseEnded()
        // Idle: Hummingbird's idle timeout watches; no deadline here.
        #expect(connection.nextDeadline == nil)
        #expect(connection.expired(at: start + .seconds(100)) == nil)
        connection.bytesRead(at: start + .seconds(100))
        #expect(connection.nextDeadline == start + .seconds(110))
        #expect(connection.expired(at: start + .seconds(110)) == .headerTimeout)
    }

    @Test func aResponseMustBeSentWholeInTimeHoweverSteadilyItIsRead() {
        var connection = ConnectionDeadlines(headTimeout: .seconds(10), writeTimeout: .seconds(30), responseTimeout: .seconds(60),
                                             openedAt: start)
        connection.headReceived(at: start + .seconds(1))
        #expect(connection.nextDeadline == start + .seconds(61))
        // A little read every few seconds keeps the write timeout away, not the response deadline.
        for second in stride(from: 2, through: 58, by: 2) {
            connection.writeStarted(at: start + .seconds(second))
            connection.writeCompleted(at: start + .seconds(second + 1))
            #expect(connection.expired(at: start + .seconds(second + 1)) == nil)
        }
        #expect(connection.expired(at: start + .seconds(61)) == .responseTimeout)
        // A response handed over whole but still queued is not sent yet: the deadline holds.
        connection.writeStarted(at: start + .seconds(59))
        connection.responseEnded()
        #expect(connection.expired(at: start + .seconds(61)) == .responseTimeout)
        connection.writeCompleted(at: start + .seconds(60))
        #expect(connection.nextDeadline == nil)
        // The next request on the connection gets a deadline of its own.
        connection.bytesRead(at: start + .seconds(100))
        connection.headReceived(at: start + .seconds(101))
        #expect(connection.nextDeadline == start + .seconds(161))
    }

    @Test func aResponseTheClientStopsReadingIsClosed() {
        var connection = deadlines()
        connection.headReceived(at: start)
        // Rendering takes its time: no write pending, no deadline.
        #expect(connection.expired(at: start + .seconds(60)) == nil)
        connection.writeStarted(at: start + .seconds(60))
        connection.writeStarted(at: start + .seconds(61))
        connection.writeCompleted(at: start + .seconds(70))
        #expect(connection.nextDeadline == start + .seconds(100))
        #expect(connection.expired(at: start + .seconds(99)) == nil)
        #expect(connection.expired(at: start + .seconds(100)) == .writeTimeout)
        connection.writeCompleted(at: start + .seconds(99))
        #expect(connection.expired(at: start + .seconds(200)) == nil)
    }

    @Test func theCapEvictsTheLongestIdleConnection() throws {
        let registry = ConnectionRegistry(limit: 2)
        let stalled = EmbeddedChannel(), busy = EmbeddedChannel(), newcomer = EmbeddedChannel()
        for channel in [stalled, busy, newcomer] {
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }
        let stalledID = registry.add(stalled, now: start)
        let busyID = registry.add(busy, now: start + .seconds(1))
        registry.setBusy(busyID, true, now: start + .seconds(1))
        _ = registry.add(newcomer, now: start + .seconds(2))
        for channel in [stalled, busy, newcomer] { channel.embeddedEventLoop.run() }
        #expect(!stalled.isActive, "the idle connection made room")
        #expect(busy.isActive && newcomer.isActive)
        #expect(registry.reading.open == 2)
        #expect(registry.reading.closed[.evicted] == 1)
        registry.remove(stalledID)
        #expect(registry.reading.open == 2)
    }

    @Test func aKeptAliveScraperOutlivesNewerStalledClients() throws {
        let registry = ConnectionRegistry(limit: 2)
        let scraper = EmbeddedChannel(), stalled = EmbeddedChannel(), newcomer = EmbeddedChannel()
        for channel in [scraper, stalled, newcomer] {
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }
        // The scraper was answered before the stalled client came: older and idle, it stays.
        let scraperID = registry.add(scraper, now: start)
        registry.setBusy(scraperID, true, now: start)
        registry.setBusy(scraperID, false, now: start + .milliseconds(10))
        _ = registry.add(stalled, now: start + .seconds(1))
        _ = registry.add(newcomer, now: start + .seconds(2))
        for channel in [scraper, stalled, newcomer] { channel.embeddedEventLoop.run() }
        #expect(scraper.isActive && newcomer.isActive)
        #expect(!stalled.isActive, "the never-answered connection made room")
    }

    @Test func aResponseHeldPastTheStallAgeMakesRoomForANewConnection() throws {
        let registry = ConnectionRegistry(limit: 2, stalledAfter: .seconds(10))
        let slowReader = EmbeddedChannel(), scrape = EmbeddedChannel(), newcomer = EmbeddedChannel()
        for channel in [slowReader, scrape, newcomer] {
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }
        registry.setBusy(registry.add(slowReader, now: start), true, now: start)
        registry.setBusy(registry.add(scrape, now: start + .seconds(11)), true, now: start + .seconds(11))
        _ = registry.add(newcomer, now: start + .seconds(12))
        for channel in [slowReader, scrape, newcomer] { channel.embeddedEventLoop.run() }
        #expect(!slowReader.isActive, "the response running for 12 s made room")
        #expect(scrape.isActive && newcomer.isActive, "a response running for 1 s is not stalled")
        #expect(registry.reading.closed[.evicted] == 1)
    }

    @Test func whenEveryConnectionIsBusyTheNewOneIsRefused() throws {
        let registry = ConnectionRegistry(limit: 1)
        let busy = EmbeddedChannel(), newcomer = EmbeddedChannel()
        for channel in [busy, newcomer] {
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }
        registry.setBusy(registry.add(busy, now: start), true, now: start)
        _ = registry.add(newcomer, now: start + .seconds(1))
        for channel in [busy, newcomer] { channel.embeddedEventLoop.run() }
        #expect(busy.isActive)
        #expect(!newcomer.isActive)
        #expect(registry.reading.open == 1)
        #expect(registry.reading.accepted == 2)
        #expect(registry.reading.closed[.refused] == 1)
    }
}
