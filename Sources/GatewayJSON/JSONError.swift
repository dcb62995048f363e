/// A JSON syntax error: where in the input it happened and why.
///
/// `JSONError` is a small value (no allocation unless the reason carries a duplicate key), so the hot
/// paths can throw it through typed throws without boxing. `description` renders it for logs and for
/// client error replies, for example `unexpected character 'x' at offset 12 (expected a value)`.
public struct JSONError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What the parser was looking for when it met something else.
    public enum Expectation: Sendable, Equatable {
        /// Any JSON value (object, array, string, number, `true`, `false`, `null`).
        case value
        /// An object member name (a string).
        case key
        /// The `:` after an object member name.
        case colon
        /// `,` or `]` after an array element.
        case commaOrEndOfArray
        /// `,` or `}` after an object member.
        case commaOrEndOfObject
    }

    /// Why the input is not (acceptable) JSON.
    public enum Reason: Sendable, Equatable {
        /// The input ended where more was required.
        case unexpectedEnd(expected: Expectation)
        /// A byte that cannot start or continue the expected token.
        case unexpectedCharacter(UInt8, expected: Expectation)
        /// A string without its closing quote; the offset is the opening quote.
        case unterminatedString
        /// A raw control character (< 0x20) inside a string; RFC 8259 §7 requires it to be escaped.
        case controlCharacterInString(UInt8)
        /// A backslash followed by a byte that is not one of `" \ / b f n r t u`.
        case invalidEscape(UInt8)
        /// `\u` not followed by four hexadecimal digits.
        case invalidUnicodeEscape
        /// Bytes inside a string that are not well-formed UTF-8 (RFC 3629: no overlongs, no
        /// encoded surrogates, nothing above U+10FFFF).
        case invalidUTF8
        /// A number that breaks the RFC 8259 §6 grammar (`-`, `1.`, `.5`, `1e`, `+1`, ...).
        case invalidNumber
        /// A number with a superfluous leading zero, such as `01` or `-007`.
        case leadingZero
        /// Something that starts like `true`, `false` or `null` but is not exactly that.
        case invalidLiteral
        /// More nested arrays/objects than the caller's limit.
        case depthExceeded(limit: Int)
        /// Non-whitespace bytes after the complete top-level value.
        case trailingCharacters
        /// An object member name seen twice in the same object (only when the caller asks for it).
        case duplicateKey(String)
    }

    /// Byte offset into the input where the problem was found.
    public var offset: Int
    /// What went wrong.
    public var reason: Reason

    /// Creates an error at `offset`.
    @inlinable
    public init(_ reason: Reason, at offset: Int) {
        self.reason = reason
        self.offset = offset
    }

    /// A one-line explanation, e.g. `unterminated string at offset 3`.
    public var description: String {
        let at = "at offset \(offset)"
        switch reason {
        case .unexpectedEnd(let expected):
            return "unexpected end of input \(at) (expected \(expected.phrase))"
        case .unexpectedCharacter(let byte, let expected):
            return "unexpected character \(Self.show(byte)) \(at) (expected \(expected.phrase))"
        case .unterminatedString:
            return "unterminated string \(at)"
        case .controlCharacterInString(let byte):
            return "unescaped control character \(Self.show(byte)) in string \(at)"
        case .invalidEscape(let byte):
            return "invalid escape '\\' followed by \(Self.show(byte)) \(at)"
        case .invalidUnicodeEscape:
            return "invalid \\u escape (expected 4 hex digits) \(at)"
        case .invalidUTF8:
            return "invalid UTF-8 in string \(at)"
        case .invalidNumber:
            return "invalid number \(at)"
        case .leadingZero:
            return "number with a leading zero \(at)"
        case .invalidLiteral:
            return "invalid literal \(at) (expected true, false or null)"
        case .depthExceeded(let limit):
            return "nesting deeper than \(limit) \(at)"
        case .trailingCharacters:
            return "trailing characters after the value \(at)"
        case .duplicateKey(let key):
            return "duplicate key \"\(key)\" \(at)"
        }
    }

    /// The 1-based line and column of `offset` in `bytes` (the input that produced this error), for
    /// configuration errors a person fixes in an editor.
    ///
    /// Lines end at LF (so CRLF counts once). The column counts Unicode scalars rather than bytes, so
    /// it matches what editors show on lines with non-ASCII text. An offset past the end is clamped.
    public func location(in bytes: UnsafeRawBufferPointer) -> (line: Int, column: Int) {
        let end = min(max(offset, 0), bytes.count)
        var line = 1
        var column = 1
        var i = 0
        while i < end {
            let b = bytes[i]
            if b == UInt8(ascii: "\n") {
                line += 1
                column = 1
            } else if b & 0xC0 != 0x80 {
                column += 1  // count lead bytes only: one per scalar
            }
            i += 1
        }
        return (line, column)
    }

    /// The 1-based line and column of `offset` in `text`; see `location(in:)` for bytes.
    public func location(in text: String) -> (line: Int, column: Int) {
        var copy = text
        return copy.withUTF8 { location(in: UnsafeRawBufferPointer($0)) }
    }

    /// Renders a byte for a message: printable ASCII in quotes, anything else as hex.
    static func show(_ byte: UInt8) -> String {
        if byte >= 0x21 && byte <= 0x7E { return "'\(Character(Unicode.Scalar(byte)))'" }
        let hex = String(byte, radix: 16, uppercase: true)
        return byte < 0x10 ? "byte 0x0\(hex)" : "byte 0x\(hex)"
    }
}

extension JSONError.Expectation {
    /// How the expectation reads in a message.
    var phrase: String {
        switch self {
        case .value: return "a value"
        case .key: return "a string key"
        case .colon: return "':'"
        case .commaOrEndOfArray: return "',' or ']'"
        case .commaOrEndOfObject: return "',' or '}'"
        }
    }
}
