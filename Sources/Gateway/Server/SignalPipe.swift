internal import CGatewayShims
#if canImport(Glibc)
internal import Glibc
#endif

/// Delivers SIGTERM, SIGINT and SIGHUP to one thread through a pipe (the self-pipe trick). Unlike
/// blocking the signals and calling `sigwait`, this works whichever thread the kernel picks,
/// including threads created before `main` (sanitizer runtimes start their own).
enum SignalPipe {
    // Written once in `install` before any signal is handled; read by the handler (async-signal-safe).
    nonisolated(unsafe) private static var writeFD: Int32 = -1
    nonisolated(unsafe) private static var readFD: Int32 = -1

    /// Creates the pipe and installs the handlers. SIGPIPE is ignored (sends use MSG_NOSIGNAL anyway).
    static func install() {
        signal(SIGPIPE, SIG_IGN)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return }
        readFD = fds[0]
        writeFD = fds[1]
        for fd in fds { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        // The write side never blocks inside a handler (a full pipe just drops the byte).
        _ = fcntl(writeFD, F_SETFL, fcntl(writeFD, F_GETFL) | O_NONBLOCK)
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { signo in
                var byte = UInt8(truncatingIfNeeded: signo)
                _ = write(SignalPipe.writeFD, &byte, 1)
            }
            action.sa_flags = Int32(SA_RESTART)
            sigemptyset(&action.sa_mask)
            sigaction(sig, &action, nil)
        }
    }

    /// Waits for the next signal; with `timeoutMs`, returns nil when none arrived in time.
    static func next(timeoutMs: Int32 = -1) -> Int32? {
        var p = pollfd(fd: readFD, events: Int16(POLLIN), revents: 0)
        while true {
            let r = poll(&p, 1, timeoutMs)
            if r < 0 && errno == EINTR { if timeoutMs < 0 { continue } else { return nil } }
            if r <= 0 { return nil }
            var byte: UInt8 = 0
            if read(readFD, &byte, 1) == 1 { return Int32(byte) }
        }
    }
}
