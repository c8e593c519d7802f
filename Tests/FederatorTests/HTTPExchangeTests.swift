import Testing
@testable import Federator

@Suite struct HTTPExchangeTests {
    @Test(arguments: [
        ("http://127.0.0.1:9090/api/v1/query_range?query=x", "http://127.0.0.1:9090"),
        ("http://writer:s3cret@127.0.0.1:9090/api/v1/write", "http://writer:xxxxx@127.0.0.1:9090"),
        ("https://oauth2.googleapis.com/token", "https://oauth2.googleapis.com"),
        ("writer:s3cret@host", "writer:xxxxx@host"),
    ])
    func originsHideThePathAndThePassword(url: String, expected: String) {
        #expect(HTTPExchange.origin(url) == expected)
    }
}
