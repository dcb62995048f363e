import GatewayJSON
import Testing

/// What `JSONObjectScanner` reads from `input`, in the terms of a `JSONValue` tree: nil when it
/// throws, else whether it saw an object and each member (decoded name, value parsed from its range).
func scan(_ input: [UInt8], maxDepth: Int = JSONValidator.defaultMaxDepth)
    -> Result<(isObject: Bool, members: [(String, JSONValue)]), JSONError>
{
    input.withUnsafeBytes { p in
        var members: [(String, JSONValue)] = []
        do throws(JSONError) {
            let isObject = try JSONObjectScanner.forEachMember(p, maxDepth: maxDepth) { m in
                let name = JSONObjectScanner.string(p, (m.name.lowerBound - 1)..<(m.name.upperBound + 1)) ?? "?"
                let value = (try? JSONValue.parse(UnsafeRawBufferPointer(rebasing: p[m.value]))) ?? .string("<unparsable>")
                members.append((name, value))
            }
            return .success((isObject, members))
        } catch {
            return .failure(error)
        }
    }
}

/// The scanner agrees with the tree parser on `input`: the same first error, the same object-ness,
/// the same members in order.
private func checkAgainstTree(_ input: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
    let tree = parse(input)
    switch (scan(input), tree) {
    case (.failure(let e), .failure(let t)):
        #expect(e == t, "\(show(input))", sourceLocation: sourceLocation)
    case (.success(let s), .success(let t)):
        #expect(s.isObject == (t.objectValue != nil), "\(show(input))", sourceLocation: sourceLocation)
        if let object = t.objectValue {
            #expect(s.members.map(\.0) == object.keys, "\(show(input))", sourceLocation: sourceLocation)
            #expect(s.members.map(\.1) == object.members.map(\.value), "\(show(input))", sourceLocation: sourceLocation)
        } else {
            #expect(s.members.isEmpty, sourceLocation: sourceLocation)
        }
    case (let s, let t):
        Issue.record("\(show(input)): scanner \(s), tree \(t)", sourceLocation: sourceLocation)
    }
}

@Suite struct JSONObjectScannerTests {
    @Test func agreesWithTheTreeParserOnTheCorpus() {
        for c in mustAccept { checkAgainstTree(c.input) }
        for c in mustReject { checkAgainstTree(c.input) }
        checkAgainstTree(bytes(#"{"a":1,"a":[2,{"b":null}],"\u0061":"x\ty", "":{}}"#))
        checkAgainstTree(bytes(#"  { }  "#))
        checkAgainstTree(bytes(#"{"a":1,}"#))
        checkAgainstTree(bytes(#"{"a":1} x"#))
    }

    @Test func holdsTheObjectToTheDepthLimitAsLevelOne() {
        let twoDeep = bytes(#"{"a":{"b":1}}"#)
        #expect(scan(twoDeep, maxDepth: 2).success != nil)
        #expect(scan(twoDeep, maxDepth: 1).failure == parse(twoDeep, maxDepth: 1).failure)
        #expect(scan(bytes("{}"), maxDepth: 0).failure?.reason == .depthExceeded(limit: 0))
    }

    @Test func namesMatchDecodedAndFirstOneFirst() {
        let input = bytes(#"{"\u0065xp":1,"exp":2,"ex":3,"expx":4}"#)
        input.withUnsafeBytes { p in
            var found: [Range<Int>] = []
            _ = try? JSONObjectScanner.forEachMember(p) { m in if m.named("exp", in: p) { found.append(m.value) } }
            #expect(found.count == 2)
            #expect(found.first.map { JSONObjectScanner.double(p, $0) } == 1)
        }
    }

    @Test func valuesReadInPlaceAsTheTreeReadsThem() throws {
        let input = bytes(#"{"s":"a\u00e9\"b","raw":"plain","n":[0,-0,12,-7,1.5,2e3,123456789012345,1234567890123456789,1e400,-1E-2],"t":true,"a":["x",1,"",{"y":[]},"z"]}"#)
        let tree = try #require(parse(input).success)
        try input.withUnsafeBytes { p in
            var values: [String: Range<Int>] = [:]
            _ = try JSONObjectScanner.forEachMember(p) { m in
                values[String(decoding: UnsafeRawBufferPointer(rebasing: p[m.name]), as: UTF8.self)] = m.value
            }
            let s = try #require(values["s"]), raw = try #require(values["raw"]), n = try #require(values["n"])
            #expect(JSONObjectScanner.string(p, s) == tree["s"]?.stringValue)
            #expect(JSONObjectScanner.string(p, raw) == "plain")
            #expect(JSONObjectScanner.string(p, n) == nil && !JSONObjectScanner.isString(p, n))
            "plain".utf8.withContiguousStorageIfAvailable { plain in
                #expect(JSONObjectScanner.rawString(p, raw, equals: UnsafeRawBufferPointer(plain)))
                #expect(!JSONObjectScanner.rawString(p, s, equals: UnsafeRawBufferPointer(plain)))
            }
            var numbers: [Double?] = []
            #expect(JSONObjectScanner.forEachElement(p, n) { numbers.append(JSONObjectScanner.double(p, $0)) })
            #expect(numbers == tree["n"]?.arrayValue?.map(\.doubleValue))
            #expect(JSONObjectScanner.double(p, try #require(values["t"])) == nil)
            var elements: [JSONValue] = []
            #expect(JSONObjectScanner.forEachElement(p, try #require(values["a"])) {
                elements.append((try? JSONValue.parse(UnsafeRawBufferPointer(rebasing: p[$0]))) ?? nil)
            })
            #expect(elements == tree["a"]?.arrayValue)
            #expect(!JSONObjectScanner.forEachElement(p, s) { _ in Issue.record("not an array") })
        }
        bytes("[ ]").withUnsafeBytes { p in
            #expect(JSONObjectScanner.forEachElement(p, 0..<3) { _ in Issue.record("empty") })
        }
    }
}
