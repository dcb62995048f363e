/// Everything wrong with a configuration, each problem naming the JSON path of the bad key, e.g.
/// `modules[0].routes["chat.send"].url: not an absolute http(s) URL`.
public struct ConfigError: Error, Sendable, CustomStringConvertible {
    /// One problem per entry, in document order.
    public var problems: [String]

    /// Creates an error with problems.
    public init(_ problems: [String]) {
        self.problems = problems
    }

    /// All problems, one per line.
    public var description: String {
        problems.joined(separator: "\n")
    }
}
