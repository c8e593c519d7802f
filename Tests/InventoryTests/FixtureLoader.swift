import TestSupport

/// Reads a file under Fixtures/inventory/ of this repository.
func inventoryFixture(_ name: String) throws -> [UInt8] {
    try RepositoryFixtures.bytes("inventory/" + name)
}
