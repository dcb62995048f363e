/// A question one node asks the others for the admin API's presence answers (DESIGN §8:
/// `GET /v1/connections`, `GET /v1/connections/{id}` and `GET /v1/stats` answer for the whole
/// cluster), and a node's answer to it.
///
/// Presence is asked, not mirrored: a node answers from its own live sessions, so the cluster view
/// has every field a single node shows (queued bytes, calls in flight, remote address) and costs
/// nothing while nobody asks. A question for every node goes out once on the all channel; one for a
/// single connection goes to its node's channel; answers go to the asking node's channel.
///
/// Its own small binary form, told apart from a `ClusterMessage` and a `ClusterControl` by its
/// first byte: `marker u8 | kind u8 (1 ask, 2 answer) | request u32 | node (short string: the
/// asker of a question, the answerer of an answer) | rest`, where a question's rest is its subject
/// (`u8` 1 connections + optional room + optional user, each `u8` present flag and a name; 2 one
/// connection + its id as a name; 3 stats) and an answer's rest is its payload, opaque here.
struct ClusterQuery: Equatable, Sendable {
    /// What is asked.
    enum Subject: Equatable, Sendable {
        /// The node's sessions, optionally only a room's members or a user's connections.
        case connections(room: String?, user: String?)
        /// One connection of the node, by id.
        case connection(String)
        /// The node's `/v1/stats` figures.
        case stats
    }

    enum Body: Equatable, Sendable {
        case ask(Subject)
        /// Encoded by the answering side (`ClusterNode+Query`).
        case answer([UInt8])
    }

    /// Chosen by the asker; answers carry it back.
    var request: UInt32
    /// The asker (question) or the answerer (answer).
    var node: String
    var body: Body

    /// The first byte: neither a `ClusterMessage` version nor `ClusterControl.marker`.
    static let marker: UInt8 = 0xC1

    /// The bytes published.
    func encode() -> [UInt8] {
        var out: [UInt8] = [Self.marker]
        switch body {
        case .ask: out.append(1)
        case .answer: out.append(2)
        }
        out.appendWire(request)
        out.appendWireShortString(node)
        switch body {
        case .ask(.connections(let room, let user)):
            out.append(1)
            for name in [room, user] {
                if let name {
                    out.append(1)
                    out.appendWireName(name)
                } else {
                    out.append(0)
                }
            }
        case .ask(.connection(let id)):
            out.append(2)
            out.appendWireName(id)
        case .ask(.stats):
            out.append(3)
        case .answer(let payload):
            out.append(contentsOf: payload)
        }
        return out
    }

    init(request: UInt32, node: String, body: Body) {
        self.request = request
        self.node = node
        self.body = body
    }

    /// Decodes `bytes`; nil unless they are a whole query or answer (of this release).
    init?(decoding bytes: [UInt8]) {
        // A Result out of a non-throwing closure: a typed-throws closure here trips the 6.3 compiler.
        let decoded = bytes.withUnsafeBytes { raw -> Result<ClusterQuery?, ClusterMessage.DecodeError> in
            do throws(ClusterMessage.DecodeError) {
                var r = ClusterWireReader(bytes: raw)
                guard try r.u8() == Self.marker else { return .success(nil) }
                let kind = try r.u8()
                let request = try r.integer(UInt32.self)
                let node = try r.shortString()
                switch kind {
                case 1:
                    let subject: Subject
                    switch try r.u8() {
                    case 1:
                        let room = try r.u8() == 1 ? try r.name() : nil
                        let user = try r.u8() == 1 ? try r.name() : nil
                        subject = .connections(room: room, user: user)
                    case 2: subject = .connection(try r.name())
                    case 3: subject = .stats
                    default: return .success(nil)
                    }
                    guard r.rest.isEmpty else { return .success(nil) }
                    return .success(ClusterQuery(request: request, node: node, body: .ask(subject)))
                case 2:
                    return .success(ClusterQuery(request: request, node: node, body: .answer(Array(r.rest))))
                default:
                    return .success(nil)
                }
            } catch {
                return .failure(error)
            }
        }
        guard case .success(let query?) = decoded else { return nil }
        self = query
    }
}
