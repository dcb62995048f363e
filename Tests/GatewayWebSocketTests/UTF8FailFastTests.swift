import GatewayBuffers
import GatewayWebSocket
import Testing

/// Invalid UTF-8 fails the connection as soon as the bad bytes arrive, even inside one frame that is
/// still incomplete (Autobahn 6.4.3/6.4.4 expect this "fail fast").
@Suite("UTF-8 fail fast inside a single frame")
struct UTF8FailFastTests {
    // κόσμε followed by F4 90 80 80 (above U+10FFFF) and more text: Autobahn 6.4.3's message.
    let valid: [UInt8] = [0xce, 0xba, 0xe1, 0xbd, 0xb9, 0xcf, 0x83, 0xce, 0xbc, 0xce, 0xb5]
    let invalid: [UInt8] = [0xf4, 0x90, 0x80, 0x80]
    let tail: [UInt8] = Array("edited".utf8)

    func feed(_ reader: inout WebSocketFrameReader, _ bytes: [UInt8]) -> WebSocketError? {
        var copy = bytes
        let result: Result<Void, WebSocketError> = copy.withUnsafeMutableBytes { raw in
            Result { () throws(WebSocketError) in try reader.feed(raw) { _ in .proceed } }
        }
        if case .failure(let e) = result { return e }
        return nil
    }

    @Test func failsOnTheChopThatMakesItInvalid() {
        let frame = clientFrame(.text, valid + invalid + tail)
        let headerSize = frame.count - (valid.count + invalid.count + tail.count)
        let first = Array(frame[0..<(headerSize + valid.count)])
        let second = Array(frame[(headerSize + valid.count)..<(headerSize + valid.count + invalid.count)])
        var reader = WebSocketFrameReader(maxMessageBytes: 1 << 20)
        #expect(feed(&reader, first) == nil)
        #expect(feed(&reader, second) == .invalidUTF8)
    }

    @Test func validTextSplitAtEveryByteStillPasses() {
        let text = Array("κόσμε — ünïcödé text split everywhere".utf8)
        let frame = clientFrame(.text, text)
        for cut in 1..<frame.count {
            var reader = WebSocketFrameReader(maxMessageBytes: 1 << 20)
            var events: [Event] = []
            for part in [Array(frame[..<cut]), Array(frame[cut...])] {
                var copy = part
                let result: Result<Void, WebSocketError> = copy.withUnsafeMutableBytes { raw in
                    Result { () throws(WebSocketError) in try reader.feed(raw) { events.append(Event($0)); return .proceed } }
                }
                #expect((try? result.get()) != nil, "cut at \(cut)")
            }
            #expect(events == [.text(text)], "cut at \(cut)")
        }
    }

    @Test func continuationFramesFailFastToo() {
        let first = clientFrame(.text, valid, fin: false)
        let cont = clientFrame(.continuation, invalid + tail)
        let contHeader = cont.count - (invalid.count + tail.count)
        var reader = WebSocketFrameReader(maxMessageBytes: 1 << 20)
        #expect(feed(&reader, first) == nil)
        #expect(feed(&reader, Array(cont[0..<(contHeader + 1)])) == nil)  // F4 alone may still be valid
        #expect(feed(&reader, Array(cont[(contHeader + 1)..<(contHeader + 2)])) == .invalidUTF8)  // F4 90 cannot
    }
}
