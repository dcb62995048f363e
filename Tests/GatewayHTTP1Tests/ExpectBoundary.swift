import Testing

/// Expects `valid` to parse to its `.end` under every split and `invalid` to fail with `error`
/// under every split; `drive` feeds one split and returns the error, if any, and whether the last
/// event was an `.end`.
func expectBoundary<Failure: Equatable>(
    valid: String, invalid: String, error: Failure, sourceLocation: SourceLocation = #_sourceLocation,
    drive: ([[UInt8]]) -> (error: Failure?, endsWithEnd: Bool)
) {
    for (label, chunks) in everySplit(of: bytes(valid)) {
        let run = drive(chunks)
        #expect(run.error == nil, "valid, \(label)", sourceLocation: sourceLocation)
        #expect(run.endsWithEnd, "valid, \(label)", sourceLocation: sourceLocation)
    }
    for (label, chunks) in everySplit(of: bytes(invalid)) {
        #expect(drive(chunks).error == error, "invalid, \(label)", sourceLocation: sourceLocation)
    }
}
