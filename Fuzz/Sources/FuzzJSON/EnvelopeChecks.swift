import FuzzSupport
import GatewayBuffers
import GatewayJSON

/// Checks `JSONEnvelope.parse` against the tree parser, which is simple and checked separately.
/// - Parameter shallowValidation: `JSONValidator.validate` at depth 3, which the envelope at depth 3
///   must agree with.
func checkEnvelope(
    _ bytes: UnsafeRawBufferPointer, tree: Result<JSONValue, JSONError>, shallowValidation shallowTree: Result<Void, JSONError>
) -> Result<JSONEnvelope, JSONEnvelopeError> {
    let envelope = Result { () throws(JSONEnvelopeError) in try JSONEnvelope.parse(bytes) }
    let shallow = Result { () throws(JSONEnvelopeError) in try JSONEnvelope.parse(bytes, maxDepth: 3) }
    if case .failure(.invalidJSON(let error)) = shallow {
        check(shallowTree.failureValue == error, "depth 3: envelope \(error), validator \(String(describing: shallowTree.failureValue))")
    } else {
        check(shallowTree.failureValue == nil, "depth 3: envelope accepted what the validator rejects")
    }

    switch (tree, envelope) {
    case (.failure(let error), .failure(.invalidJSON(let envelopeError))):
        check(error == envelopeError, "envelope \(envelopeError), parser \(error) for \(show(bytes))")
    case (.failure(let error), _):
        invariantFailed("envelope \(envelope) for invalid JSON (\(error)): \(show(bytes))")
    case (.success, .failure(.invalidJSON(let error))):
        invariantFailed("envelope says \(error) for valid JSON \(show(bytes))")
    case (.success(let value), _):
        let expected = expectedEnvelope(value)
        switch (expected, envelope) {
        case (.failure(let want), .failure(let got)):
            check(sameCase(want, got), "envelope \(got), expected \(want) for \(show(bytes))")
        case (.success(let want), .success(let got)):
            check(JSONScannerSame(got.cmd, want.cmd), "cmd \(got.cmd.debugDescription), expected \(want.cmd.debugDescription)")
            checkRange(got.id, in: bytes, equals: want.id, "id")
            checkRange(got.data, in: bytes, equals: want.data, "data")
            if let id = got.id {
                let first = bytes[id.lowerBound]
                check(first == UInt8(ascii: "\"") || first == UInt8(ascii: "-") || (first >= 0x30 && first <= 0x39), "id token \(show(UnsafeRawBufferPointer(rebasing: bytes[id])))")
            }
        default:
            invariantFailed("envelope \(envelope), expected \(expected) for \(show(bytes))")
        }
    }
    return envelope
}

/// The envelope's parts as values, for comparison with the tree.
struct ExpectedEnvelope {
    var cmd: String
    var id: JSONValue?
    var data: JSONValue?
}

/// What `JSONEnvelope.parse` must return for a valid document, worked out from its tree: envelope
/// problems in document order (the first wins), then a missing `cmd`.
func expectedEnvelope(_ value: JSONValue) -> Result<ExpectedEnvelope, JSONEnvelopeError> {
    guard let object = value.objectValue else { return .failure(.notAnObject) }
    var cmd: String?, id: JSONValue?, data: JSONValue?
    var seen = (cmd: false, id: false, data: false)
    var problem: JSONEnvelopeError?
    func note(_ error: JSONEnvelopeError) {
        if problem == nil { problem = error }
    }
    for (key, member) in object.members {
        if JSONScannerSame(key, "cmd") {
            if seen.cmd {
                note(.duplicateKey(.cmd, offset: 0))
            } else {
                seen.cmd = true
                if let s = member.stringValue {
                    cmd = s
                    if s.isEmpty { note(.emptyCmd(offset: 0)) }
                } else {
                    note(.cmdNotString(offset: 0))
                }
            }
        } else if JSONScannerSame(key, "id") {
            if seen.id {
                note(.duplicateKey(.id, offset: 0))
            } else {
                seen.id = true
                id = member
                switch member {
                case .string, .number: break
                default: note(.idNotStringOrNumber(offset: 0))
                }
            }
        } else if JSONScannerSame(key, "data") {
            if seen.data { note(.duplicateKey(.data, offset: 0)) } else { seen.data = true; data = member }
        }
    }
    if let problem { return .failure(problem) }
    guard let cmd else { return .failure(.missingCmd) }
    return .success(ExpectedEnvelope(cmd: cmd, id: id, data: data))
}

/// Same case (and member) of an envelope error; offsets are not known from a tree.
func sameCase(_ a: JSONEnvelopeError, _ b: JSONEnvelopeError) -> Bool {
    switch (a, b) {
    case (.notAnObject, .notAnObject), (.missingCmd, .missingCmd), (.cmdNotString, .cmdNotString),
        (.emptyCmd, .emptyCmd), (.idNotStringOrNumber, .idNotStringOrNumber):
        return true
    case (.duplicateKey(let m, _), .duplicateKey(let n, _)):
        return m == n
    default:
        return false
    }
}

/// A range of the input holds exactly the expected value (both absent, or both present and equal).
func checkRange(_ range: Range<Int>?, in bytes: UnsafeRawBufferPointer, equals value: JSONValue?, _ name: String) {
    guard let range else {
        check(value == nil, "\(name) missing, expected \(String(describing: value))")
        return
    }
    check(range.lowerBound >= 0 && range.upperBound <= bytes.count && !range.isEmpty, "\(name) range \(range) of \(bytes.count) bytes")
    let slice = UnsafeRawBufferPointer(rebasing: bytes[range])
    let parsed = Result { () throws(JSONError) in try JSONValue.parse(slice) }
    guard case .success(let got) = parsed, let value else {
        invariantFailed("\(name) \(show(slice)) gave \(parsed), expected \(String(describing: value))")
    }
    check(got == value, "\(name) \(show(slice)) is not \(value)")
    check(!isJSONWhitespace(slice.first) && !isJSONWhitespace(slice.last), "\(name) range includes whitespace")
}

func isJSONWhitespace(_ b: UInt8?) -> Bool {
    b == 0x20 || b == 0x09 || b == 0x0A || b == 0x0D
}

/// Scalar-by-scalar string equality, as JSON defines it (not Swift's canonical equivalence).
func JSONScannerSame(_ a: String, _ b: String) -> Bool {
    a.utf8.elementsEqual(b.utf8)
}
