import Testing
import CommandLineSupport

@Suite struct ListenAddressTests {
    @Test(arguments: [
        ("0.0.0.0:19100", "0.0.0.0", 19100),
        ("127.0.0.1:0", "127.0.0.1", 0),
        (":9100", "::", 9100),
        ("[::1]:19110", "::1", 19110),
        ("[fd00::5]:65535", "fd00::5", 65535),
        ("localhost:80", "localhost", 80),
    ])
    func parses(text: String, host: String, port: Int) {
        #expect(ListenAddress(text) == ListenAddress(host: host, port: port))
    }

    @Test(arguments: ["", "19100", "host", "host:", "host:port", "host:65536", "host:-1", "[::1]"])
    func refuses(text: String) {
        #expect(ListenAddress(text) == nil)
    }
}
