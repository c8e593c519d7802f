import Federator
import Foundation

/// libFuzzer entry point: the input is the body of a Prometheus /api/v1/query_range
/// answer. Whatever the body, the reader returns series or throws its one error type;
/// it never traps.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPrometheusMatrix(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    do {
        let series = try PrometheusMatrix.parse(Data(bytes: data, count: size))
        for one in series {
            for sample in one.samples where !sample.value.isNaN {
                _ = sample.value.magnitude
            }
        }
    } catch is FederatorError {
        // The answer the federator logs and moves on from.
    } catch {
        fatalError("PrometheusMatrix.parse threw something else than FederatorError: \(error)")
    }
    return 0
}
