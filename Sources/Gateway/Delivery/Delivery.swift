internal import Synchronization

/// Who a delivery goes to (DESIGN §4 `Gateway-Deliver`, §5 publish).
enum DeliveryTarget: Sendable, Equatable {
    /// Every WebSocket connection.
    case all
    /// Members of one room.
    case room(String)
    /// Members of any of these rooms, each connection once.
    case rooms([String])
    /// Every connection of a user.
    case user(String)
    /// These connections.
    case connections([ConnectionKey])
}

/// One push on its way to its recipients: target, exclusions and the frames, immutable so the same
/// object is handed to every loop.
final class Delivery: Sendable {
    let target: DeliveryTarget
    /// Connection ids that must not receive it (the sender when it gets the reply form instead).
    let except: [ConnectionKey]
    let frames: PushFrames
    /// Unique per process: lets a loop mark connections it already wrote to, so a connection in two
    /// target rooms receives the push once, without a set allocation per delivery.
    let serial: UInt64

    private static let counter = Atomic<UInt64>(1)

    init(target: DeliveryTarget, except: [ConnectionKey], frames: PushFrames) {
        self.target = target
        self.except = except
        self.frames = frames
        self.serial = Self.counter.add(1, ordering: .relaxed).newValue
    }

    /// Loops that can hold recipients: the owner of each listed connection of this node, or every loop.
    func loops(count: Int) -> [Int] {
        guard case .connections(let keys) = target else { return Array(0..<count) }
        var set = Set<Int>()
        for k in keys where k.isLocal && Int(k.loop) < count { set.insert(Int(k.loop)) }
        return set.sorted()
    }
}
