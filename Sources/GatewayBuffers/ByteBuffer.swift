/// A growable byte buffer with a reader index and optional headroom in front of the readable bytes.
///
/// Bytes live in `[0, writerIndex)` of the storage; `[readerIndex, writerIndex)` are readable. Headroom
/// (bytes before `readerIndex`) lets a protocol layer prepend a header (a WebSocket frame header is at
/// most 14 bytes) in front of a payload that was written first, without moving the payload.
///
/// `ByteBuffer` is a value type over copy-on-write storage of its own (`ByteStorage`); an empty
/// buffer made with no capacity allocates nothing, so idle connections that hold one cost 16 bytes.
/// It is meant to be owned by one event loop; it is `Sendable` because its storage is copied before
/// a shared one is written, not because sharing it is cheap.
public struct ByteBuffer: @unchecked Sendable, Equatable {
    /// nil until something is reserved or written.
    @usableFromInline internal var storage: ByteStorage?
    @usableFromInline internal var _readerIndex: Int
    /// Index of the first readable byte.
    @inlinable public var readerIndex: Int { _readerIndex }

    /// Creates an empty buffer.
    /// - Parameters:
    ///   - capacity: bytes to reserve up front (the storage grows on demand).
    ///   - headroom: bytes left free in front of the first readable byte for `prepend`.
    @inlinable
    public init(capacity: Int = 0, headroom: Int = 0) {
        _readerIndex = headroom
        let total = capacity + headroom
        if total > 0 {
            let s = ByteStorage.make(capacity: total)
            if headroom > 0 {
                s.base.initialize(repeating: 0, count: headroom)
                s.count = headroom
            }
            storage = s
        } else {
            storage = nil
        }
    }

    /// Creates a buffer holding a copy of `bytes`.
    @inlinable
    public init<S: Sequence>(bytes: S) where S.Element == UInt8 {
        storage = nil
        _readerIndex = 0
        write(contentsOf: bytes)
    }

    /// Creates a buffer holding the UTF-8 bytes of `string`.
    @inlinable
    public init(string: String) {
        self.init()
        write(string: string)
    }

    /// Index one past the last written byte.
    @inlinable public var writerIndex: Int { storage?.count ?? 0 }
    /// Number of readable bytes.
    @inlinable public var readableBytes: Int { writerIndex - _readerIndex }
    /// Whether there is nothing to read.
    @inlinable public var isEmpty: Bool { writerIndex == _readerIndex }
    /// Bytes in front of the readable bytes that `prepend` can use without moving anything.
    @inlinable public var headroom: Int { _readerIndex }
    /// Total bytes the storage can hold without reallocating.
    @inlinable public var capacity: Int { storage?.capacity ?? 0 }

    /// The readable bytes as an array (copies; for tests and cold paths).
    @inlinable public var readableArray: [UInt8] { withUnsafeReadableBytes { Array($0) } }

    // MARK: Room to write

    /// Makes the storage unique and gives it room for `count` more bytes after `writerIndex`. The
    /// common case (unique, room enough) is a load, a compare and a branch; the rest is out of line.
    /// Nothing is returned: the callers then reach the storage through `storage.unsafelyUnwrapped`,
    /// borrowed from `self`, because a returned reference is retained and released on every write
    /// (callgrind: 40 of a write's 85 instructions).
    @inlinable @inline(__always)
    internal mutating func ensureWritable(_ count: Int) {
        if _slowPath(!isKnownUniquelyReferenced(&storage) || storage.unsafelyUnwrapped.spare < count) {
            grow(adding: count)
        }
    }

    /// Copies or enlarges the storage so that `count` more bytes fit (doubling, as `Array` grows).
    @usableFromInline @inline(never)
    internal mutating func grow(adding count: Int) {
        let used = storage?.count ?? 0
        let old = storage?.capacity ?? 0
        let needed = used + count
        let unique = isKnownUniquelyReferenced(&storage)
        let capacity = unique && needed <= old ? old : max(needed, old * 2)
        let s = ByteStorage.make(capacity: capacity)
        if let o = storage, used > 0 {
            s.base.update(from: o.base, count: used)
        }
        s.count = used
        storage = s
    }

    // MARK: Writing

    /// Appends bytes.
    @inlinable
    public mutating func write(_ bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        guard n > 0, let src = bytes.baseAddress else { return }
        ensureWritable(n)
        storage.unsafelyUnwrapped.append(src, count: n)
    }

    /// Appends bytes from any sequence of bytes.
    @inlinable
    public mutating func write<S: Sequence>(contentsOf bytes: S) where S.Element == UInt8 {
        if bytes.withContiguousStorageIfAvailable({ write(UnsafeRawBufferPointer($0)) }) != nil { return }
        reserveWritableCapacity(bytes.underestimatedCount)
        for b in bytes { write(byte: b) }
    }

    /// Appends the readable bytes of another buffer.
    @inlinable
    public mutating func write(buffer other: ByteBuffer) {
        other.withUnsafeReadableBytes { write($0) }
    }

    /// Appends one byte.
    @inlinable
    public mutating func write(byte: UInt8) {
        ensureWritable(1)
        storage.unsafelyUnwrapped.append(byte)
    }

    /// Appends the UTF-8 bytes of a string.
    @inlinable
    public mutating func write(string: some StringProtocol) {
        // Native strings are contiguous UTF-8: one copy instead of the generic UTF8View walk.
        if string.utf8.withContiguousStorageIfAvailable({ write(UnsafeRawBufferPointer($0)) }) != nil { return }
        var copy = String(string)
        copy.withUTF8 { write(UnsafeRawBufferPointer($0)) }
    }

    /// Appends an integer in network (big-endian) byte order.
    @inlinable
    public mutating func write<T: FixedWidthInteger>(integer: T) {
        var big = integer.bigEndian
        withUnsafeBytes(of: &big) { write($0) }
    }

    /// Appends the low `digits` hex digits of `value` (lower case, zero padded, at most 16), the way ids
    /// and trace context are written: all 16 digits are computed in two registers, then the wanted
    /// ones are copied at once (a connection id and a traceparent are 74 digits per backend call; one
    /// append per digit cost about 28 instructions each).
    @inlinable
    public mutating func write(hex value: UInt64, digits: Int) {
        precondition(digits >= 0 && digits <= 16, "at most 16 hex digits")
        var chars = (Self.hex8(UInt32(truncatingIfNeeded: value >> 32)).littleEndian,
                     Self.hex8(UInt32(truncatingIfNeeded: value)).littleEndian)
        withUnsafeBytes(of: &chars) { raw in
            raw.withMemoryRebound(to: UInt8.self) { write(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: $0[(16 - digits)...]))) }
        }
    }

    /// The 8 lower-case hex digits of `x`, most significant first, as the bytes of a little-endian
    /// `UInt64` (SWAR: spread the nibbles one per byte, then map 0–9 and 10–15 to ASCII together).
    @inlinable
    public static func hex8(_ x: UInt32) -> UInt64 {
        var s = UInt64(x.byteSwapped)  // bytes, most significant first
        s = (s | (s << 16)) & 0x0000_FFFF_0000_FFFF
        s = (s | (s << 8)) & 0x00FF_00FF_00FF_00FF  // byte i of x at byte 2i
        let nibbles = ((s >> 4) & 0x000F_000F_000F_000F) | ((s & 0x000F_000F_000F_000F) << 8)
        let letters = ((nibbles &+ 0x0606_0606_0606_0606) >> 4) & 0x0101_0101_0101_0101  // 1 where >= 10
        return nibbles &+ 0x3030_3030_3030_3030 &+ letters &* 0x27
    }

    /// Appends the decimal representation of an integer without going through `String`.
    @inlinable
    public mutating func write(decimal value: Int) {
        if value < 0 {
            write(byte: UInt8(ascii: "-"))
            write(decimal: UInt(value.magnitude))
        } else {
            write(decimal: UInt(value))
        }
    }

    /// Appends the decimal representation of an unsigned integer.
    @inlinable
    public mutating func write(decimal value: UInt) {
        if value < 10 { write(byte: UInt8(ascii: "0") &+ UInt8(value)); return }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes, enough for 20 digits
        let count = withUnsafeMutableBytes(of: &digits) { raw -> Int in
            var v = value
            var i = raw.count
            while v > 0 {
                i -= 1
                raw[i] = UInt8(ascii: "0") &+ UInt8(v % 10)
                v /= 10
            }
            write(UnsafeRawBufferPointer(rebasing: raw[i...]))
            return raw.count - i
        }
        _ = count
    }

    /// Writes `bytes` into the headroom so they become the first readable bytes.
    /// - Returns: `false` (and changes nothing) when the headroom is too small.
    @inlinable
    @discardableResult
    public mutating func prepend(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count <= _readerIndex else { return false }
        guard let src = bytes.baseAddress, bytes.count > 0 else { return true }
        let start = _readerIndex - bytes.count
        ensureWritable(0)
        UnsafeMutableRawPointer(storage.unsafelyUnwrapped.base + start).copyMemory(from: src, byteCount: bytes.count)
        _readerIndex = start
        return true
    }

    /// Marks `count` readable bytes as consumed.
    @inlinable
    public mutating func moveReaderIndex(forwardBy count: Int) {
        precondition(count >= 0 && count <= readableBytes, "moveReaderIndex beyond the readable bytes")
        _readerIndex += count
        if _readerIndex == writerIndex && _readerIndex > 0 {
            // Everything consumed: restart at 0 so the storage is reused instead of growing.
            clear()
        }
    }

    /// Drops the readable bytes and keeps the capacity.
    @inlinable
    public mutating func clear() {
        _readerIndex = 0
        // The uniqueness test comes before any binding of `storage`: a bound reference is a second
        // one, and the test then always fails (one allocation per clear, seen in callgrind).
        if isKnownUniquelyReferenced(&storage) {
            storage.unsafelyUnwrapped.count = 0
        } else if let capacity = storage?.capacity {
            // Another buffer shares the bytes: leave them to it and start a block of the same size.
            storage = ByteStorage.make(capacity: capacity)
        }
    }

    /// Moves the readable bytes to the front of the storage, reclaiming consumed space.
    @inlinable
    public mutating func discardReadBytes() {
        guard _readerIndex > 0 else { return }
        let n = readableBytes
        ensureWritable(0)
        let s = storage.unsafelyUnwrapped
        if n > 0 { s.base.update(from: s.base + _readerIndex, count: n) }
        s.count = n
        _readerIndex = 0
    }

    /// Reserves room for at least `count` more bytes.
    @inlinable
    public mutating func reserveWritableCapacity(_ count: Int) {
        ensureWritable(count)
    }

    /// Appends `count` bytes written by `body` directly into the storage (after zero-filling them).
    /// `body` returns how many of the `count` bytes it actually wrote; the rest are dropped.
    @inlinable
    public mutating func writeWithUnsafeMutableBytes(
        count: Int, _ body: (UnsafeMutableRawBufferPointer) throws -> Int
    ) rethrows {
        precondition(count >= 0, "writeWithUnsafeMutableBytes: negative count")
        ensureWritable(count)
        let s = storage.unsafelyUnwrapped
        let start = s.count
        (s.base + start).initialize(repeating: 0, count: count)
        let written = try body(UnsafeMutableRawBufferPointer(start: s.base + start, count: count))
        precondition(written >= 0 && written <= count, "writeWithUnsafeMutableBytes: bad count")
        s.count = start + written
    }

    /// Calls `body` with the readable bytes.
    @inlinable
    public func withUnsafeReadableBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        // `self` holds the storage for the call; no binding, which would retain it.
        guard storage != nil else { return try body(UnsafeRawBufferPointer(start: nil, count: 0)) }
        return try body(UnsafeRawBufferPointer(start: storage.unsafelyUnwrapped.base + _readerIndex, count: readableBytes))
    }

    /// Calls `body` with the readable bytes, mutable (for in-place unmasking).
    @inlinable
    public mutating func withUnsafeMutableReadableBytes<R>(
        _ body: (UnsafeMutableRawBufferPointer) throws -> R
    ) rethrows -> R {
        guard storage != nil else { return try body(UnsafeMutableRawBufferPointer(start: nil, count: 0)) }
        ensureWritable(0)
        return try body(UnsafeMutableRawBufferPointer(start: storage.unsafelyUnwrapped.base + _readerIndex, count: readableBytes))
    }

    /// Reads the byte at `readerIndex + offset` without consuming it.
    @inlinable
    public func byte(at offset: Int) -> UInt8 {
        precondition(offset >= 0 && offset < readableBytes, "byte(at:) beyond the readable bytes")
        return withUnsafeReadableBytes { $0[offset] }
    }

    /// Shrinks the storage if it holds more than `limit` bytes of capacity and nothing readable.
    /// Keeps long-lived idle connections from pinning a buffer sized for their largest message.
    @inlinable
    public mutating func releaseCapacityIfEmpty(above limit: Int) {
        if isEmpty && capacity > limit {
            storage = nil
            _readerIndex = 0
        }
    }

    /// Two buffers are equal when their readable bytes are equal.
    @inlinable
    public static func == (lhs: ByteBuffer, rhs: ByteBuffer) -> Bool {
        lhs.withUnsafeReadableBytes { l in rhs.withUnsafeReadableBytes { r in l.elementsEqual(r) } }
    }
}

extension ByteBuffer: CustomStringConvertible {
    /// The readable bytes as UTF-8 (lossy), for logs and test failures.
    public var description: String {
        withUnsafeReadableBytes { String(decoding: $0, as: UTF8.self) }
    }
}

/// The heap block behind a `ByteBuffer`: bytes written, capacity, and the bytes. Its own type instead
/// of `[UInt8]` because the send path appends a few small pieces per message (a frame header, a
/// payload, a reply envelope), and `Array`'s generic `append(contentsOf:)`,
/// `removeAll(keepingCapacity:)` and growth checks cost about 450 instructions per echoed message
/// (callgrind, S2 at depth 8) where a capacity check and a `memcpy` do.
///
/// A plain class with the bytes in a separate allocation, not a `ManagedBuffer` subclass with them
/// in line: with the subclass, the reply queue's unit tests (debug build) read `.empty` slots back
/// as `.ready` with an empty buffer; the cause (enum layout across modules, presumably) was not
/// pinned down. Buffers are pooled, so the second allocation is rare.
///
/// A `ByteBuffer` writes to its storage only when it holds the only reference (copy on write,
/// checked with `isKnownUniquelyReferenced`), so storage reachable from two threads is never
/// written: that is why `ByteBuffer` may be `@unchecked Sendable`.
@usableFromInline
final class ByteStorage {
    /// The first byte.
    @usableFromInline let base: UnsafeMutablePointer<UInt8>
    /// Bytes allocated.
    @usableFromInline let capacity: Int
    /// Bytes written (`ByteBuffer.writerIndex`).
    @usableFromInline var count: Int

    /// New storage for at least `capacity` bytes, none written. Rounded up to a multiple of 16 (the
    /// allocator's granule, so the rounding is free).
    @usableFromInline
    init(capacity: Int) {
        let rounded = max(16, (capacity + 15) & ~15)
        self.base = .allocate(capacity: rounded)
        self.capacity = rounded
        self.count = 0
    }

    deinit { base.deallocate() }

    /// New storage for at least `capacity` bytes.
    @inlinable static func make(capacity: Int) -> ByteStorage { ByteStorage(capacity: capacity) }

    /// Bytes that fit without growing.
    @inlinable var spare: Int { capacity &- count }

    /// Appends `count` bytes from `src`; the caller made room.
    @inlinable func append(_ src: UnsafeRawPointer, count n: Int) {
        UnsafeMutableRawPointer(base + count).copyMemory(from: src, byteCount: n)
        count &+= n
    }

    /// Appends one byte; the caller made room.
    @inlinable func append(_ byte: UInt8) {
        base[count] = byte
        count &+= 1
    }
}
