/// Carries a value into a `@Sendable` closure that runs on one other thread (a loop's `setUp` or
/// `execute`).
public struct SendableBox<T>: @unchecked Sendable {
    // @unchecked: handed to exactly one thread (the loop's), never used concurrently.
    /// The carried value.
    public let value: T
    /// Boxes `value`.
    public init(_ value: T) { self.value = value }
}
