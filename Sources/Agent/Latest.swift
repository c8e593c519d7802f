import Synchronization

/// The latest value a background task published; readers never wait for the task's I/O.
public final class Latest<Value: Sendable>: Sendable {
    private let value: Mutex<Value>

    public init(_ initial: Value) { value = Mutex(initial) }

    /// The value now.
    public func get() -> Value { value.withLock { $0 } }

    /// Replaces the value.
    public func set(_ newValue: Value) { value.withLock { $0 = newValue } }

    /// Changes the value in place.
    public func update(_ body: (inout Value) -> Void) { value.withLock { body(&$0) } }
}
