internal import GatewayBuffers

/// What a message waiting for its backend call needs when the answer comes: how to pack the reply
/// and where it goes.
struct PendingReply {
    /// The message's command (echoed in the reply).
    var command: String
    /// The message's `id`, echoed in the reply.
    var id: String?
    /// Whether the message was a binary frame (the raw format answers in kind).
    var binary: Bool
    /// The route: its delivery (the `Gateway-Deliver` response header overrides it) and metrics
    /// index. The shared object, so keeping it costs one reference, not a copy of the route.
    var route: RouteRef
}

/// Keeps replies, and the deliveries to other connections that messages cause, in the order the client
/// sent its messages, even when backend calls finish out of order. Message `n` gets sequence number
/// `n`; its reply is written, and its delivery started, only when every earlier message has been
/// answered (or produced nothing). Replies and deliveries that finish early wait here, the replies
/// encoded and framed; messages whose calls are in flight wait here with what their answer needs.
///
/// When a message is released, its delivery starts before its reply is written (the order the
/// connection has always used for a message whose turn it is).
struct ReplyQueue {
    enum Slot {
        /// A backend call is in flight for this message.
        case waiting(PendingReply)
        /// The reply is encoded and waits for earlier ones.
        case ready(ByteBuffer)
        /// The message's delivery to other connections waits for earlier messages, and so does its
        /// framed reply, if the sender gets one.
        case held(HeldDelivery, reply: ByteBuffer?)
        /// The message produced nothing, or was released (204, `deliver: none`).
        case empty
    }

    /// Sequence number of `slots[head]`: the oldest unanswered message.
    private(set) var base: UInt64 = 0
    private var slots: [Slot] = []
    private var head = 0
    /// Sequence number the next message gets.
    private(set) var next: UInt64 = 0

    /// Whether every message so far has been answered.
    var isIdle: Bool { head == slots.count }

    /// Takes a sequence number for a new message.
    mutating func reserve() -> UInt64 {
        defer { next += 1 }
        return next
    }

    /// Whether a reply for `seq` can be written right away (nothing earlier is pending).
    func isNext(_ seq: UInt64) -> Bool {
        seq == base && head == slots.count
    }

    /// Whether `seq` is the oldest unanswered message: its reply can be written right away, before
    /// any later replies waiting in the queue (then `complete(seq, with: nil)` releases those).
    func isOldest(_ seq: UInt64) -> Bool {
        seq == base
    }

    /// Records that `seq` is answered right away (written directly by the caller).
    mutating func skipImmediate(_ seq: UInt64) {
        precondition(isNext(seq))
        base += 1
    }

    /// Records that `seq` waits for a backend call.
    mutating func markWaiting(_ seq: UInt64, _ pending: PendingReply) {
        // Sequence numbers are reserved in order and each is either answered at once or marked here,
        // so `seq` is always the slot after the last one.
        while base + UInt64(slots.count - head) < seq { slots.append(.empty) }
        slots.append(.waiting(pending))
    }

    /// What `seq`'s answer needs, while its call is in flight; nil when `seq` is not waiting.
    func pending(_ seq: UInt64) -> PendingReply? {
        guard seq >= base else { return nil }
        let i = head + Int(seq - base)
        guard i < slots.count, case .waiting(let p) = slots[i] else { return nil }
        return p
    }

    /// Stores the outcome for `seq` (its framed reply, and the delivery it holds back, if any) and,
    /// for every message that is now in order, calls `push` with its held delivery and then `write`
    /// with its reply.
    ///
    /// `push` and `write` must not use this queue: they run while it is being changed.
    mutating func complete(
        _ seq: UInt64, with reply: ByteBuffer?, holding delivery: HeldDelivery? = nil,
        push: (HeldDelivery) -> Void = { _ in }, write: (inout ByteBuffer) -> Void
    ) {
        guard seq >= base else { return }
        while base + UInt64(slots.count - head) <= seq { slots.append(.empty) }
        let i = head + Int(seq - base)
        if let delivery {
            slots[i] = .held(delivery, reply: reply)
        } else if let reply {
            slots[i] = .ready(reply)
        } else {
            slots[i] = .empty
        }
        while head < slots.count {
            switch slots[head] {
            case .waiting:
                return compact()
            case .ready(var b):
                slots[head] = .empty
                write(&b)
            case .held(let d, let r):
                // Cleared first, so the reply's storage is uniquely referenced when it is recycled.
                slots[head] = .empty
                push(d)
                if var b = r { write(&b) }
            case .empty:
                break
            }
            head += 1
            base += 1
        }
        compact()
    }

    /// Drops everything pending (connection closed).
    mutating func removeAll() {
        slots.removeAll()
        head = 0
        base = next
    }

    private mutating func compact() {
        if head == slots.count {
            slots.removeAll(keepingCapacity: slots.capacity <= 64)
            head = 0
        } else if head > 32 {
            slots.removeSubrange(0..<head)
            head = 0
        }
    }
}
