import Diagnostics
import Testing

@Suite struct URLRedactionTests {
    @Test(arguments: [
        ("http://user:s3cret@host:8086/write?db=x", "http://user:xxxxx@host:8086/write?db=x"),
        ("https://user:p@ss:w0rd@inventory.example/hosts.json", "https://user:xxxxx@inventory.example/hosts.json"),
        ("http://user:@host/", "http://user:xxxxx@host/"),
        ("user:s3cret@host:9090", "user:xxxxx@host:9090"),
        ("http://host/path?next=http://a:b@c", "http://host/path?next=http://a:b@c"),
        ("http://host/#a:b@c", "http://host/#a:b@c"),
    ])
    func passwordsAreReplaced(url: String, expected: String) {
        #expect(redactedURL(url) == expected)
    }

    @Test(arguments: ["http://127.0.0.1:9090", "http://user@host/", "none", "", "http://[::1]:8086/x", "localhost:51666/metrics"])
    func addressesWithoutAPasswordAreKept(url: String) {
        #expect(redactedURL(url) == url)
    }
}
