import GatewayJSON
import Testing

@Suite struct JSONObjectTests {
    @Test func keepsMemberOrder() {
        let object: JSONObject = ["z": 1, "a": 2, "m": 3]
        #expect(object.keys == ["z", "a", "m"])
        #expect(object.count == 3)
        #expect(!object.isEmpty)
        #expect(object.map(\.key) == ["z", "a", "m"])
        #expect(object.map(\.value) == [1, 2, 3])
        #expect(JSONObject().isEmpty)
        #expect(JSONObject().keys == [])
    }

    @Test func appendKeepsDuplicatesAndLookupReturnsTheFirst() {
        var object = JSONObject()
        object.append(key: "a", value: 1)
        object.append(key: "b", value: 2)
        object.append(key: "a", value: 3)
        #expect(object.count == 3)
        #expect(object.keys == ["a", "b", "a"])
        #expect(object["a"] == 1)
        #expect(object["b"] == 2)
        #expect(object["c"] == nil)
        #expect(object.members.last?.value == 3)
    }

    @Test func duplicateKeySmallObjects() {
        #expect(JSONObject()["x"] == nil)
        #expect(JSONObject().duplicateKey == nil)
        #expect((["a": 1, "b": 2] as JSONObject).duplicateKey == nil)
        #expect((["a": 1, "a": 2] as JSONObject).duplicateKey == "a")
        // The first name to repeat, in order of the repeat: the second "b" comes before the second "a".
        #expect((["a": 1, "b": 2, "c": 3, "b": 4, "a": 5] as JSONObject).duplicateKey == "b")
        #expect((["": 1, "": 2] as JSONObject).duplicateKey == "")
    }

    @Test func duplicateKeyLargeObjects() {
        let unique = JSONObject((0..<40).map { (key: "k\($0)", value: JSONValue.number(String($0))) })
        #expect(unique.duplicateKey == nil)
        var repeated = unique
        repeated.append(key: "k7", value: nil)
        repeated.append(key: "k3", value: nil)
        #expect(repeated.duplicateKey == "k7")
        let seventeen = JSONObject((0..<16).map { (key: "k\($0)", value: JSONValue.null) } + [(key: "k0", value: .null)])
        #expect(seventeen.duplicateKey == "k0")
    }

    @Test func namesAreComparedScalarByScalar() {
        // U+00E9 and "e" + U+0301 are canonically equivalent Swift strings but distinct JSON names.
        let composed = "\u{E9}"
        let decomposed = "e\u{301}"
        var object = JSONObject()
        object.append(key: composed, value: 1)
        object.append(key: decomposed, value: 2)
        #expect(object.duplicateKey == nil)
        #expect(object[composed] == 1)
        #expect(object[decomposed] == 2)
        var large = JSONObject((0..<20).map { (key: "k\($0)", value: JSONValue.null) })
        large.append(key: composed, value: 1)
        large.append(key: decomposed, value: 2)
        #expect(large.duplicateKey == nil)
        large.append(key: decomposed, value: 3)
        #expect(large.duplicateKey == decomposed)
        #expect(JSONObject([(key: composed, value: 1)]) != JSONObject([(key: decomposed, value: 1)]))
    }

    @Test func equalityIsOrderSensitive() {
        let ab: JSONObject = ["a": 1, "b": 2]
        #expect(ab == ["a": 1, "b": 2])
        #expect(ab != ["b": 2, "a": 1])
        #expect(ab != ["a": 1])
        #expect(ab != ["a": 1, "b": 3])
        #expect(ab != ["a": 1, "c": 2])
    }

    @Test func initFromMembers() {
        let object = JSONObject([(key: "x", value: true), (key: "y", value: [1])])
        #expect(object == ["x": true, "y": [1]])
        #expect(JSONValue.object(object).serialized() == #"{"x":true,"y":[1]}"#)
    }
}
