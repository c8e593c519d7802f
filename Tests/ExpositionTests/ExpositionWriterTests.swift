import Testing
import Exposition

@Suite struct ExpositionWriterTests {
    @Test func writesFamilyAndSamplesExactly() {
        var writer = ExpositionWriter()
        writer.family("planet_traffic_bytes_total", help: "Total network traffic with peers", kind: .counter)
        writer.sample("planet_traffic_bytes_total", ["direction": "egress", "remote_ip": "10.1.2.3", "port": ""], UInt64(2005))
        writer.sample("planet_traffic_series", [:], 3.0)
        #expect(writer.text == """
        # HELP planet_traffic_bytes_total Total network traffic with peers
        # TYPE planet_traffic_bytes_total counter
        planet_traffic_bytes_total{direction="egress",remote_ip="10.1.2.3",port=""} 2005
        planet_traffic_series 3

        """)
    }

    @Test func escapesLabelValuesAndHelp() {
        var writer = ExpositionWriter()
        writer.family("m", help: "a\\b\nc", kind: .gauge)
        writer.sample("m", ["process_name": "we\"ird\\na\nme"], UInt64(1))
        #expect(writer.text == "# HELP m a\\\\b\\nc\n# TYPE m gauge\nm{process_name=\"we\\\"ird\\\\na\\nme\"} 1\n")
    }

    @Test func formatsSpecialValues() {
        #expect(ExpositionWriter.format(.nan) == "NaN")
        #expect(ExpositionWriter.format(.infinity) == "+Inf")
        #expect(ExpositionWriter.format(-.infinity) == "-Inf")
        #expect(ExpositionWriter.format(0.25) == "0.25")
        #expect(ExpositionWriter.format(126014316) == "126014316")
    }

    @Test func seriesPrefixMatchesSampleOutput() {
        let prefix = ExpositionWriter.seriesPrefix("x_total", labels: [("a", "1"), ("b", "")])
        var writer = ExpositionWriter()
        writer.appendRaw(prefix)
        writer.appendRaw("7\n".utf8)
        var direct = ExpositionWriter()
        direct.sample("x_total", labels: [("a", "1"), ("b", "")], 7)
        #expect(writer.bytes == direct.bytes)
    }
}
