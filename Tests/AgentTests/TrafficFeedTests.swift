import Agent
import Testing

struct TrafficFeedTests {
    @Test func captureWinsWhenBothFeedsAreEnabled() {
        let both = TrafficFeed.select(captureEnabled: true, darkstatEnabled: true)
        #expect(both.feed == .capture)
        #expect(both.warning != nil)
        #expect(TrafficFeed.select(captureEnabled: false, darkstatEnabled: true) == (.darkstat, nil))
        #expect(TrafficFeed.select(captureEnabled: true, darkstatEnabled: false) == (.capture, nil))
        #expect(TrafficFeed.select(captureEnabled: false, darkstatEnabled: false) == (.none, nil))
    }
}
