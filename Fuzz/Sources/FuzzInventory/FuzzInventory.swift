import Inventory

/// libFuzzer entry point: the first input byte picks the format (even: arrayjson, odd:
/// ndjson), the rest is an inventory body, parsed straight from libFuzzer's buffer so
/// that AddressSanitizer reports any read past it. A body yields usable entries and
/// problems, or one error for the whole body; never a trap.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzInventory(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 1 else { return 0 }
    let format: InventoryFormat = data[0] & 1 == 0 ? .arrayjson : .ndjson
    let body = UnsafeRawBufferPointer(start: data + 1, count: size - 1)
    do {
        let result = try InventoryParser.parse(body, format: format)
        for entry in result.entries {
            check(!entry.host.hostgroup.isEmpty || !entry.host.domain.isEmpty, "entry without a label")
            check(entry.host.hostgroup.utf8.count <= InventoryParser.maxLabelBytes
                  && entry.host.domain.utf8.count <= InventoryParser.maxLabelBytes, "label longer than the bound")
        }
        check(result.entries.count <= InventoryParser.defaultMaxEntries, "more entries than the bound")
        for problem in result.problems { check(!problem.description.contains("\n"), "problem spans lines") }
        _ = Inventory(entries: result.entries)
    } catch {
        check(!error.description.contains("\n"), "error spans lines")
    }
    return 0
}

private func check(_ condition: Bool, _ message: StaticString) {
    if !condition { fatalError("inventory parser invariant broken: \(message)") }
}
