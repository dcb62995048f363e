/// The message loop both parsers run: scan a head, read the body its framing announces, report
/// the end, and start over (or stop, after a message that ends the connection). What a head means
/// (a request line or a status line, which framing its fields announce) is the front end's part;
/// everything between heads is this one type, for requests and responses alike.
struct HTTPMessageReader {
    /// Where the reader is within the current message.
    enum State {
        /// Scanning a head (possibly nothing buffered yet).
        case head
        /// Everything of the message is read; `.end` still has to be reported (e.g. after a pause).
        case endPending
        /// Reading the body (`body` knows its framing).
        case body
        /// No further message may follow (the last one ended the connection, or the input did).
        case closed
    }

    /// What `run` stopped on.
    enum Stop {
        /// A head is complete: its bytes are the scanner's buffered ones followed by
        /// `input[start..<end]`. The front end parses it and calls `begin(_:closeAfter:)`.
        case head(start: Int, end: Int)
        /// Every byte given was consumed, or a callback asked to pause.
        case yielded
    }

    private(set) var state = State.head
    /// The head or trailer section being scanned.
    var scanner = HTTPFieldSectionScanner()
    /// The body being read.
    private(set) var body = HTTPBodyReader()
    /// Whether the state after the pending `.end` is `.closed` rather than `.head`.
    private var closeAfterEnd = false

    /// Starts the message whose head was just parsed: its body framing (nil: no body) and whether
    /// it is the last message of the connection.
    mutating func begin(_ framing: HTTPBodyReader.Framing?, closeAfter: Bool) {
        closeAfterEnd = closeAfter
        if let framing {
            body.begin(framing)
            state = .body
        } else {
            state = .endPending
        }
    }

    /// Stops after an error or at the end of the input, freeing what is buffered.
    mutating func close(discarding: Bool) {
        state = .closed
        if discarding { scanner.discard() }
    }

    /// Reports the pending `.end` (after a pause on the last event), moving past it.
    mutating func takePendingEnd() -> Bool {
        guard case .endPending = state else { return false }
        state = closeAfterEnd ? .closed : .head
        return true
    }

    /// Reads `input[i...]`: body pieces go to `onBody` and message ends to `onEnd` (either may
    /// pause); it stops when a head is complete or the input is used up. `i` moves past what was
    /// consumed.
    ///
    /// - Parameters:
    ///   - startLineAllowed: false refuses a start line as soon as it begins (a response nobody asked for).
    ///   - bodyLimit: the current message's body limit.
    ///   - map: turns the core's errors into the front end's.
    ///   - afterClose: what to throw when bytes arrive in `.closed`.
    mutating func run<E: Error>(
        _ input: UnsafeRawBufferPointer, from i: inout Int, policy: HTTPFramingPolicy, startLineAllowed: Bool = true,
        bodyLimit: Int, map: (HTTPFramingError) -> E, afterClose: E,
        onBody: (UnsafeRawBufferPointer) -> HTTPParserAction, onEnd: () -> HTTPParserAction
    ) throws(E) -> Stop {
        let count = input.count
        while true {
            switch state {
            case .head:
                guard i < count else { return .yielded }
                let scan = try scanner.scan(input, from: i, policy: policy, startLineAllowed: startLineAllowed, map: map)
                guard case .complete(let start, let end) = scan else {
                    i = count
                    return .yielded
                }
                i = end
                return .head(start: start, end: end)

            case .endPending:
                _ = takePendingEnd()
                if onEnd() == .pause { return .yielded }

            case .body:
                let progress = try body.read(
                    input, from: &i, policy: policy, bodyLimit: bodyLimit, scanner: &scanner, map: map, onBody)
                if progress != .ended { return .yielded }
                state = .endPending

            case .closed:
                guard i < count else { return .yielded }
                throw afterClose
            }
        }
    }
}
