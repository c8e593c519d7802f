import Foundation

/// Reads a file under Fixtures/inventory/ of this repository.
func inventoryFixture(_ name: String) throws -> [UInt8] {
    let root = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    return Array(try Data(contentsOf: root.appendingPathComponent("Fixtures/inventory/\(name)")))
}
