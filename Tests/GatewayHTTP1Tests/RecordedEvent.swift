import GatewayHTTP1

/// A parser event as the tests record it, for either direction: heads compared by value,
/// consecutive body pieces concatenated (see `appendRecording(_:)`).
enum RecordedEvent<Head: RecordableHead>: Equatable, Sendable, CustomStringConvertible {
    case head(Head)
    case body([UInt8])
    case end

    var description: String {
        switch self {
        case .head(let head): "head(\(head.recordedDescription))"
        case .body(let bytes): "body(\(String(decoding: bytes, as: UTF8.self).debugDescription))"
        case .end: "end"
        }
    }
}

/// A request event as the tests record it.
typealias Recorded = RecordedEvent<HTTPRequestHead>
/// A response event as the tests record it.
typealias RecordedResponse = RecordedEvent<HTTPResponseHead>

/// A message head the tests record and print in failure messages.
protocol RecordableHead: Equatable, Sendable {
    /// The head on one line: start line and fields.
    var recordedDescription: String { get }
}

extension HTTPRequestHead: RecordableHead {
    var recordedDescription: String { "\(method) \(target) \(version) \(headers.fields)" }
}

extension HTTPResponseHead: RecordableHead {
    var recordedDescription: String { "\(version) \(status) \(reason.debugDescription) \(headers.fields)" }
}

extension Array {
    /// Appends `event`, concatenating a body piece onto the body piece recorded just before it, so
    /// that every split of the same input records the same events.
    mutating func appendRecording<Head>(_ event: RecordedEvent<Head>) where Element == RecordedEvent<Head> {
        if case .body(let bytes) = event, case .body(let previous)? = last {
            self[count - 1] = .body(previous + bytes)
        } else {
            append(event)
        }
    }
}
