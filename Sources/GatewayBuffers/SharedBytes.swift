/// Immutable bytes shared by reference: one encoded frame handed to many sockets, possibly on several
/// event loops. Each holder keeps one retain; nobody copies the bytes. The memory is freed when the
/// last holder lets go.
public final class SharedBytes: @unchecked Sendable {
    // @unchecked: both stored properties are immutable `let`s and the pointee is never written after
    // init returns, so concurrent readers on several loops are safe.
    private let base: UnsafeMutableRawPointer
    /// Number of bytes.
    public let count: Int

    /// Allocates `count` bytes and lets `initializer` fill all of them. This is how an encoder writes a
    /// frame straight into shared memory without an intermediate copy.
    public init(count: Int, initializer: (UnsafeMutableRawBufferPointer) throws -> Void) rethrows {
        self.count = count
        base = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1), alignment: 16)
        do {
            try initializer(UnsafeMutableRawBufferPointer(start: base, count: count))
        } catch {
            base.deallocate()
            throw error
        }
    }

    /// Copies `bytes` into a new shared allocation.
    public convenience init(copying bytes: UnsafeRawBufferPointer) {
        self.init(count: bytes.count) { dst in
            if bytes.count > 0 { dst.copyMemory(from: bytes) }
        }
    }

    /// Copies the readable bytes of `buffer`.
    public convenience init(copying buffer: ByteBuffer) {
        self.init(count: buffer.readableBytes) { dst in
            buffer.withUnsafeReadableBytes { src in
                if src.count > 0 { dst.copyMemory(from: src) }
            }
        }
    }

    deinit { base.deallocate() }

    /// Calls `body` with the bytes.
    @inlinable
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(unsafeBytes)
    }

    /// The bytes; valid for as long as this object is alive. The I/O layer keeps a reference while the
    /// kernel reads from them.
    public var unsafeBytes: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: base, count: count) }
}
