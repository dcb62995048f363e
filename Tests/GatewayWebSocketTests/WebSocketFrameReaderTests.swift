import GatewayWebSocket
import Testing

/// A named input and the events it must produce however it is split.
struct Sample: CustomStringConvertible {
    var name: String
    var bytes: [UInt8]
    var events: [Event]
    var description: String { name }
}

let euro: [UInt8] = [0xE2, 0x82, 0xAC]  // U+20AC
let clef: [UInt8] = [0xF0, 0x9D, 0x84, 0x9E]  // U+1D11E
let bytes200 = (0..<200).map { UInt8(truncatingIfNeeded: $0 &* 7) }

let corpus: [Sample] = [
    Sample(name: "text, 7-bit length", bytes: clientFrame(.text, "Hello"), events: [.text("Hello")]),
    Sample(name: "binary, 16-bit length", bytes: clientFrame(.binary, bytes200), events: [.binary(bytes200)]),
    Sample(
        name: "text, 64-bit length", bytes: rawFrame(first: 0x81, payload: Array("sixty-four".utf8), lengthBytes: 8),
        events: [.text("sixty-four")]),
    Sample(
        name: "binary, 16-bit length encoding a short payload", bytes: rawFrame(first: 0x82, payload: [1, 2, 3], lengthBytes: 2),
        events: [.binary([1, 2, 3])]),
    Sample(name: "empty text", bytes: clientFrame(.text, []), events: [.text([])]),
    Sample(name: "empty binary", bytes: clientFrame(.binary, []), events: [.binary([])]),
    Sample(
        name: "fragmented text with interleaved ping and pong",
        bytes: clientFrame(.text, "Hel", fin: false) + clientFrame(.ping, "p") + clientFrame(.continuation, "lo ", fin: false)
            + clientFrame(.pong, []) + clientFrame(.continuation, "world"),
        events: [.ping(Array("p".utf8)), .pong([]), .text("Hello world")]),
    Sample(
        name: "multi-byte UTF-8 split across fragments",
        bytes: clientFrame(.text, [euro[0]], fin: false) + clientFrame(.continuation, [euro[1], euro[2], 0x41, clef[0], clef[1]], fin: false)
            + clientFrame(.continuation, [clef[2]], fin: false) + clientFrame(.continuation, [clef[3]]),
        events: [.text(euro + [0x41] + clef)]),
    Sample(
        name: "fragmented binary with an empty fragment",
        bytes: clientFrame(.binary, [1, 2], fin: false) + clientFrame(.continuation, [], fin: false) + clientFrame(.continuation, [3]),
        events: [.binary([1, 2, 3])]),
    Sample(
        name: "several frames back to back",
        bytes: clientFrame(.text, "one") + clientFrame(.binary, [9, 8, 7]) + clientFrame(.ping, []) + clientFrame(.text, "two"),
        events: [.text("one"), .binary([9, 8, 7]), .ping([]), .text("two")]),
    Sample(
        name: "close with code and reason", bytes: clientFrame(.close, [0x03, 0xE8] + Array("bye".utf8)),
        events: [.close(1000, Array("bye".utf8))]),
    Sample(name: "close without payload", bytes: clientFrame(.close, []), events: [.close(nil, [])]),
]

/// Every sample, then all of them concatenated (the close last, so it ends the stream).
let corpusWithConcatenation: [Sample] = {
    let ordered = corpus.filter { !$0.name.hasPrefix("close") } + corpus.filter { $0.name == "close with code and reason" }
    let all = Sample(name: "everything", bytes: ordered.flatMap(\.bytes), events: ordered.flatMap(\.events))
    return corpus + [all]
}()

@Suite struct WebSocketFrameReaderTests {
    @Test(arguments: corpusWithConcatenation)
    func wholeInput(_ sample: Sample) throws {
        #expect(try read([sample.bytes]) == sample.events)
    }

    @Test(arguments: corpusWithConcatenation)
    func everySplitPoint(_ sample: Sample) throws {
        for split in 0...sample.bytes.count {
            let chunks = [Array(sample.bytes[..<split]), Array(sample.bytes[split...])]
            #expect(try read(chunks) == sample.events, "split at \(split)")
        }
    }

    @Test(arguments: corpusWithConcatenation)
    func byteByByte(_ sample: Sample) throws {
        #expect(try read(sample.bytes.map { [$0] }) == sample.events)
    }

    @Test(arguments: corpusWithConcatenation)
    func pauseAfterEveryEventAtEverySplitPoint(_ sample: Sample) throws {
        for split in 0...sample.bytes.count {
            let chunks = [Array(sample.bytes[..<split]), Array(sample.bytes[split...])]
            #expect(try read(chunks, pauseWhen: { _ in true }) == sample.events, "split at \(split)")
        }
        #expect(try read(sample.bytes.map { [$0] }, pauseWhen: { _ in true }) == sample.events)
    }

    @Test func largeFrameWith64BitLength() throws {
        let payload = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 5) }
        let bytes = clientFrame(.binary, payload)
        #expect(bytes[1] == 0x80 | 127)
        #expect(try read([bytes]) == [.binary(payload)])
        for split in [1, 2, 9, 10, 13, 14, 15, 1000, 65_550, bytes.count - 1] {
            #expect(try read([Array(bytes[..<split]), Array(bytes[split...])]) == [.binary(payload)], "split at \(split)")
        }
        #expect(try read(bytes.map { [$0] }) == [.binary(payload)])
        var random = TestRandom(seed: 7)
        var chunks: [[UInt8]] = []
        var index = 0
        while index < bytes.count {
            let size = Int.random(in: 1...4096, using: &random)
            chunks.append(Array(bytes[index..<min(index + size, bytes.count)]))
            index += size
        }
        #expect(try read(chunks) == [.binary(payload)])
    }

    @Test func singleFrameMessageIsDeliveredFromTheInputWithoutCopy() throws {
        var reader = WebSocketFrameReader(maxMessageBytes: 1024)
        var input = clientFrame(.text, "in place")
        var delivered: UnsafeRawPointer?
        try input.withUnsafeMutableBytes { raw in
            try reader.feed(raw) { event in
                if case .text(let bytes) = event { delivered = bytes.baseAddress }
                return .proceed
            }
            #expect(delivered == UnsafeRawPointer(raw.baseAddress).map { $0 + 6 })
        }
        // Unmasked in place.
        #expect(Array(input[6...]) == Array("in place".utf8))
    }

    @Test func pauseAndResume() throws {
        let bytes = clientFrame(.text, "first") + clientFrame(.binary, [1, 2]) + clientFrame(.text, "third")
        var reader = WebSocketFrameReader(maxMessageBytes: 1024)
        var events: [Event] = []
        var input = bytes
        try input.withUnsafeMutableBytes { raw in
            try reader.feed(raw) { event in
                events.append(Event(event))
                return .pause
            }
        }
        #expect(events == [.text("first")])
        #expect(reader.hasBufferedInput)
        #expect(reader.bufferedBytes == bytes.count - clientFrame(.text, "first").count)
        try reader.resume { event in
            events.append(Event(event))
            return .proceed
        }
        #expect(events == [.text("first"), .binary([1, 2]), .text("third")])
        #expect(!reader.hasBufferedInput)
        #expect(reader.bufferedBytes == 0)
    }

    @Test func feedAfterPauseDeliversKeptBytesFirst() throws {
        var reader = WebSocketFrameReader(maxMessageBytes: 1024)
        var events: [Event] = []
        var first = clientFrame(.text, "a") + clientFrame(.text, "b") + Array(clientFrame(.text, "c").prefix(3))
        try first.withUnsafeMutableBytes { raw in
            try reader.feed(raw) { event in
                events.append(Event(event))
                return .pause
            }
        }
        #expect(events == [.text("a")])
        var second = Array(clientFrame(.text, "c").dropFirst(3)) + clientFrame(.text, "d")
        try second.withUnsafeMutableBytes { raw in
            try reader.feed(raw) { event in
                events.append(Event(event))
                return .proceed
            }
        }
        #expect(events == [.text("a"), .text("b"), .text("c"), .text("d")])
        #expect(!reader.hasBufferedInput)
    }

    @Test func partialFrameIsBuffered() throws {
        var reader = WebSocketFrameReader(maxMessageBytes: 1024)
        let bytes = clientFrame(.text, "hello")
        #expect(try read([Array(bytes.prefix(4))], reader: &reader) == [])
        #expect(reader.hasBufferedInput)
        #expect(reader.bufferedBytes == 4)
        #expect(try read([Array(bytes.dropFirst(4))], reader: &reader) == [.text("hello")])
        #expect(!reader.hasBufferedInput)
    }

    @Test func idleReaderHoldsNoHeapMemory() throws {
        var reader = WebSocketFrameReader(maxMessageBytes: 1 << 20)
        #expect(reader.allocatedBytes == 0)
        let split = clientFrame(.binary, Array(repeating: 7, count: 5000))
        _ = try read([Array(split.prefix(100))], reader: &reader)
        #expect(reader.allocatedBytes > 0)
        _ = try read([Array(split.dropFirst(100))], reader: &reader)
        #expect(reader.allocatedBytes == 0)

        _ = try read([clientFrame(.text, "frag", fin: false)], reader: &reader)
        #expect(reader.allocatedBytes > 0)
        #expect(try read([clientFrame(.continuation, "ment")], reader: &reader) == [.text("fragment")])
        #expect(reader.allocatedBytes == 0)
    }

    @Test func retainedCapacityKeepsSmallBuffers() throws {
        var reader = WebSocketFrameReader(maxMessageBytes: 1 << 20, retainedCapacity: 4096)
        _ = try read([clientFrame(.text, "frag", fin: false), clientFrame(.continuation, "ment")], reader: &reader)
        #expect(reader.allocatedBytes > 0)
        #expect(!reader.hasBufferedInput)
        // A buffer that grew past the retained capacity is released.
        _ = try read([clientFrame(.binary, Array(repeating: 1, count: 10_000), fin: false), clientFrame(.continuation, [])], reader: &reader)
        #expect(reader.allocatedBytes <= 4096)
    }

    @Test func inputAfterCloseIsIgnored() throws {
        var reader = WebSocketFrameReader(maxMessageBytes: 1024)
        let bytes = clientFrame(.close, [0x03, 0xE9]) + clientFrame(.text, "late")
        #expect(try read([bytes], reader: &reader) == [.close(1001, [])])
        #expect(reader.isClosed)
        #expect(!reader.hasBufferedInput)
        #expect(try read([clientFrame(.text, "later"), [0xFF, 0xFF]], reader: &reader) == [])
        #expect(reader.allocatedBytes == 0)
    }

    @Test func unmaskedFramesAcceptedWhenMaskingIsNotRequired() throws {
        var reader = WebSocketFrameReader(maxMessageBytes: 1024, requireMaskedFrames: false)
        let bytes = rawFrame(first: 0x81, payload: Array("plain".utf8), key: nil) + clientFrame(.binary, [1])
        #expect(try read([bytes], reader: &reader) == [.text("plain"), .binary([1])])
    }

    @Test func messageExactlyAtTheLimitIsAccepted() throws {
        #expect(try read([clientFrame(.binary, Array(repeating: 0, count: 100))], maxMessageBytes: 100) == [.binary(Array(repeating: 0, count: 100))])
        let fragments = clientFrame(.binary, Array(repeating: 1, count: 60), fin: false) + clientFrame(.continuation, Array(repeating: 1, count: 40))
        #expect(try read([fragments], maxMessageBytes: 100) == [.binary(Array(repeating: 1, count: 100))])
    }

    @Test func controlFramesAreNotCountedAgainstTheMessageLimit() throws {
        let bytes = clientFrame(.ping, Array(repeating: 0x70, count: 125)) + clientFrame(.text, "ok")
        #expect(try read([bytes], maxMessageBytes: 10) == [.ping(Array(repeating: 0x70, count: 125)), .text("ok")])
    }

    @Test func randomChunkingOfARandomStream() throws {
        var random = TestRandom(seed: 42)
        var bytes: [UInt8] = []
        var expected: [Event] = []
        for _ in 0..<200 {
            let length = Int.random(in: 0...300, using: &random)
            let payload = (0..<length).map { _ in UInt8.random(in: 0x20...0x7E, using: &random) }
            let key = UInt32.random(in: 0...UInt32.max, using: &random)
            switch Int.random(in: 0..<4, using: &random) {
            case 0:
                bytes += clientFrame(.text, payload, key: key)
                expected.append(.text(payload))
            case 1:
                bytes += clientFrame(.binary, payload, key: key)
                expected.append(.binary(payload))
            case 2:
                let cut = length / 2
                bytes += clientFrame(.binary, Array(payload[..<cut]), fin: false, key: key)
                bytes += clientFrame(.ping, [1], key: key)
                bytes += clientFrame(.continuation, Array(payload[cut...]), key: key)
                expected += [.ping([1]), .binary(payload)]
            default:
                bytes += clientFrame(.pong, Array(payload.prefix(125)), key: key)
                expected.append(.pong(Array(payload.prefix(125))))
            }
        }
        for _ in 0..<20 {
            var chunks: [[UInt8]] = []
            var index = 0
            while index < bytes.count {
                let size = Int.random(in: 1...700, using: &random)
                chunks.append(Array(bytes[index..<min(index + size, bytes.count)]))
                index += size
            }
            #expect(try read(chunks) == expected)
        }
    }
}
