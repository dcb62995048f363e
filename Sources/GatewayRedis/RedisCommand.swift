public import GatewayBuffers
internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

/// A command encoded in RESP by hiredis' `redisFormatCommandArgv`, ready to be written. Encoding
/// happens once, when the command is made, so a command queued while Redis is down costs its bytes
/// and nothing else, and its size is known for the queue's byte limit.
public struct RedisCommand: Sendable, CustomStringConvertible {
    /// The command's RESP bytes (`*3\r\n$3\r\nSET\r\n…`).
    public let encoded: [UInt8]
    /// The first argument (`SET`, `AUTH`): what `description` shows, so that logging a command never
    /// shows its arguments (an `AUTH` password, a message body).
    public let name: String

    /// A command from text arguments, e.g. `RedisCommand(["SET", "key", "value"])`.
    public init(_ arguments: [String]) {
        self.init(arguments: arguments.map { Array($0.utf8) })
    }

    /// A command from text arguments, e.g. `RedisCommand("INCR", "counter")`.
    public init(_ arguments: String...) {
        self.init(arguments)
    }

    /// A command from byte arguments (binary keys and values).
    public init(arguments: [[UInt8]]) {
        precondition(!arguments.isEmpty, "a Redis command needs a name")
        name = String(decoding: arguments[0], as: UTF8.self)
        // One flat copy gives every argument a stable address for the argv array; the trailing byte
        // keeps the buffer non-empty, so even empty arguments get a valid pointer.
        var flat: [UInt8] = []
        flat.reserveCapacity(arguments.reduce(1) { $0 + $1.count })
        var offsets: [Int] = []
        offsets.reserveCapacity(arguments.count)
        for a in arguments {
            offsets.append(flat.count)
            flat.append(contentsOf: a)
        }
        flat.append(0)
        encoded = flat.withUnsafeBytes { base in
            Self.format(count: arguments.count) { i in
                UnsafeRawBufferPointer(rebasing: base[offsets[i]..<offsets[i] + arguments[i].count])
            }
        }
    }

    /// Encodes the arguments `argument(0)..<argument(count)` (valid for the call) with hiredis and
    /// returns the bytes.
    static func format(count: Int, _ argument: (Int) -> UnsafeRawBufferPointer) -> [UInt8] {
        let argv = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: count)
        let lengths = UnsafeMutablePointer<Int>.allocate(capacity: count)
        defer {
            argv.deallocate()
            lengths.deallocate()
        }
        for i in 0..<count {
            let a = argument(i)
            argv[i] = a.baseAddress?.assumingMemoryBound(to: CChar.self)
            lengths[i] = a.count
        }
        var target: UnsafeMutablePointer<CChar>?
        let n = redisFormatCommandArgv(&target, Int32(count), argv, lengths)
        guard n >= 0, let target else {
            // hiredis fails only when malloc does.
            preconditionFailure("redisFormatCommandArgv: out of memory")
        }
        defer { redisFreeCommand(target) }
        return Array(UnsafeRawBufferPointer(start: target, count: Int(n)))
    }

    /// Appends the encoded command to `buffer`.
    public func write(into buffer: inout ByteBuffer) {
        encoded.withUnsafeBytes { buffer.write($0) }
    }

    /// The command's name only (see `name`).
    public var description: String { name }
}
