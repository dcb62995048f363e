import FuzzSupport
import GatewayBuffers
@testable import Gateway
import GatewayJSON

/// Fuzzes the message parsers of the `json` and `text` wire formats and the JSON module under them.
///
/// Input: one client message (a JSON document or `cmd:body` text), no option bytes.
///
/// - `JSONValidator`, `JSONValue.parse` and `JSONEnvelope.parse` agree on validity and report the
///   same first error, at the default depth and at depth 3.
/// - A parsed tree serializes to valid JSON that parses back to the same tree; with
///   `rejectDuplicateKeys` the parse fails exactly when some object repeats a name.
/// - The envelope matches the tree: same verdict (`notAnObject`, `missingCmd`, the first envelope
///   problem), `cmd` equal to the tree's, `id` and `data` ranges inside the input and parsing to the
///   tree's values.
/// - `MessageCodec` (the gateway's real decode and reply path): the json decode equals the envelope;
///   the text split is `cmd:body` at the first colon; replies and error replies built from the
///   decoded parts are valid JSON (json) or `cmd:` + body (text) and carry the parts back.
/// - `JSONWriter.writeString(bytes:)` of the input is a JSON string that decodes to the input
///   decoded lossily (`String(decoding:as:)`).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let tree = checkValidatorAndTree(bytes, maxDepth: JSONValidator.defaultMaxDepth)
    let shallow = checkShallow(bytes, tree: tree)
    let envelope = checkEnvelope(bytes, tree: tree, shallowValidation: shallow)
    checkJSONCodec(bytes, envelope: envelope)
    checkTextCodec(bytes)
    checkStringWriter(bytes)
    return 0
}

/// Validator, tree parser and duplicate-rejecting parser agree; a tree round-trips.
func checkValidatorAndTree(_ bytes: UnsafeRawBufferPointer, maxDepth: Int) -> Result<JSONValue, JSONError> {
    let validation = Result { () throws(JSONError) in try JSONValidator.validate(bytes, maxDepth: maxDepth) }
    let tree = Result { () throws(JSONError) in try JSONValue.parse(bytes, maxDepth: maxDepth) }
    check(JSONValidator.isValid(bytes, maxDepth: maxDepth) == (validation.failureValue == nil), "isValid disagrees with validate")
    check(
        validation.failureValue == tree.failureValue,
        "depth \(maxDepth): validator \(String(describing: validation.failureValue)), parser \(String(describing: tree.failureValue)) for \(show(bytes))"
    )
    if let error = tree.failureValue {
        check(error.offset >= 0 && error.offset <= bytes.count, "error offset \(error.offset) outside the input")
        let (line, column) = error.location(in: bytes)
        check(line >= 1 && column >= 1, "location \(line):\(column)")
        check(!error.description.isEmpty, "empty description")
    }
    let strict = Result { () throws(JSONError) in try JSONValue.parse(bytes, maxDepth: maxDepth, rejectDuplicateKeys: true) }
    switch (tree, strict) {
    case (.success(let value), .success(let strictValue)):
        check(value == strictValue && !hasDuplicateKey(value), "rejectDuplicateKeys accepted a duplicate in \(show(bytes))")
        checkRoundTrip(value, maxDepth: maxDepth)
    case (.success(let value), .failure(let error)):
        guard case .duplicateKey = error.reason else { invariantFailed("strict parse failed with \(error) on valid JSON") }
        check(hasDuplicateKey(value), "duplicateKey \(error) but no object repeats a name")
        checkRoundTrip(value, maxDepth: maxDepth)
    case (.failure(let error), .failure(let strictError)):
        // Strict parsing may stop earlier, at a duplicate; otherwise it fails the same way.
        if case .duplicateKey = strictError.reason {
            check(strictError.offset <= error.offset, "duplicate reported after the syntax error")
        } else {
            check(strictError == error, "strict parse \(strictError), parse \(error)")
        }
    case (.failure(let error), .success):
        invariantFailed("strict parse accepted what parse rejected with \(error)")
    }
    return tree
}

/// At depth 3 the validator and the parser still agree, and a document within the limit parses to
/// the same tree as at the default depth.
/// - Returns: the depth-3 validation, for the envelope check.
func checkShallow(_ bytes: UnsafeRawBufferPointer, tree: Result<JSONValue, JSONError>) -> Result<Void, JSONError> {
    let validation = Result { () throws(JSONError) in try JSONValidator.validate(bytes, maxDepth: 3) }
    let shallow = Result { () throws(JSONError) in try JSONValue.parse(bytes, maxDepth: 3) }
    check(validation.failureValue == shallow.failureValue, "depth 3: validator \(String(describing: validation.failureValue)), parser \(String(describing: shallow.failureValue))")
    switch (tree, shallow) {
    case (.success(let a), .success(let b)): check(a == b, "depth 3 parses differently")
    case (.failure(let a), .failure(let b)): check(a == b || b.offset <= a.offset, "depth 3 failed later than the default depth")
    case (.failure(let error), .success): invariantFailed("depth 3 accepts what the default depth rejects: \(error)")
    case (.success, .failure(let error)):
        guard case .depthExceeded(3) = error.reason else { invariantFailed("depth 3 rejects valid JSON with \(error)") }
    }
    return validation
}

/// Serializing gives valid JSON that parses back to the same value, and serializes identically.
func checkRoundTrip(_ value: JSONValue, maxDepth: Int) {
    var out = ByteBuffer()
    JSONWriter.write(value, into: &out)
    out.withUnsafeReadableBytes { text in
        let again = Result { () throws(JSONError) in try JSONValue.parse(text, maxDepth: maxDepth) }
        guard case .success(let reparsed) = again else {
            invariantFailed("serialized \(show(text)) does not parse: \(again)")
        }
        check(reparsed == value, "round trip changed the value: \(show(text))")
        check(reparsed.serialized().utf8.elementsEqual(text), "serializing twice differs")
    }
}

/// Whether any object in the tree repeats a member name.
func hasDuplicateKey(_ value: JSONValue) -> Bool {
    var stack = [value]
    while let next = stack.popLast() {
        switch next {
        case .array(let elements): stack += elements
        case .object(let object):
            if object.duplicateKey != nil { return true }
            stack += object.members.map(\.value)
        default: break
        }
    }
    return false
}
