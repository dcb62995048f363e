public import GatewayIO

/// The engines a test should run on here: epoll always, io_uring when the probe passes (containers
/// often block it with seccomp; then its tests are skipped, not failed).
public func availableEngines() -> [IOEngineKind] {
    IOEngineProbe.probeURing() == nil ? [.ioUring, .epoll] : [.epoll]
}

/// Whether io_uring works on this machine (for tests that exist only for io_uring).
public var uringAvailable: Bool { IOEngineProbe.probeURing() == nil }
