/// What a delivery writes to: a WebSocket connection (or, in tests, a recorder).
protocol PushReceiver: AnyObject {
    /// Writes a shared push frame; returns whether it was queued.
    func push(_ frames: PushFrames) -> Bool
}
