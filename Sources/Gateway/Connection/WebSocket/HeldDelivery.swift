/// A push to other connections (route `deliver`, `Gateway-Deliver`) whose message finished before an
/// earlier message of the same connection: it waits in the `ReplyQueue` and starts when the queue
/// releases its message, so the deliveries caused by one client leave in the order the client sent its
/// messages, as its replies do (DESIGN §8 "Order").
///
/// Only this out-of-order case copies the body: a delivery whose earlier messages are all answered
/// starts at once from the backend's buffer. A class, so a waiting slot costs one reference and the
/// reply queue's slots stay small for the usual case that holds nothing.
final class HeldDelivery {
    /// Who gets it, resolved when the message finished (after its own session headers applied).
    let target: DeliveryTarget
    /// The message's command (the push's `cmd`).
    let command: String
    /// A copy of the reply body.
    let body: [UInt8]
    /// Whether the body is JSON (the json format then inserts it as it is).
    let bodyIsJSON: Bool
    /// Whether the message was a binary frame (the raw format pushes in kind).
    let binary: Bool

    init(target: DeliveryTarget, command: String, body: UnsafeRawBufferPointer, bodyIsJSON: Bool, binary: Bool) {
        self.target = target
        self.command = command
        self.body = Array(body)
        self.bodyIsJSON = bodyIsJSON
        self.binary = binary
    }
}
