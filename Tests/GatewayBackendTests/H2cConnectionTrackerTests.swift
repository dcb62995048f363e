@testable import GatewayBackend
import Testing

/// The roles of h2c transfers under libcurl before 8.0 (`H2cConnectionTracker`): one opener per
/// origin at a time, transfers held while it gets ready, joiners once it is.
@Suite struct H2cConnectionTrackerTests {
    let a = "http://127.0.0.1:9000"
    let b = "http://127.0.0.1:9001"

    @Test func aBurstHasOneOpenerTheRestWaitThenJoin() {
        var t = H2cConnectionTracker()
        #expect(t.roleForNewTransfer(origin: a) == .opener)
        for _ in 0..<49 { #expect(t.roleForNewTransfer(origin: a) == .wait) }
        // Another origin is independent.
        #expect(t.roleForNewTransfer(origin: b) == .opener)
        t.socketOpened(fd: 7, origin: a)
        #expect(t.roleForNewTransfer(origin: a) == .wait, "connected is not ready: the request is not sent yet")
        t.openerReady(origin: a)
        #expect(!t.isOpening(origin: a))
        for _ in 0..<49 { #expect(t.roleForNewTransfer(origin: a) == .joiner) }
    }

    @Test func anOpenerAfterTheLastConnectionCloses() {
        var t = H2cConnectionTracker()
        #expect(t.roleForNewTransfer(origin: a) == .opener)
        t.socketOpened(fd: 7, origin: a)
        t.openerReady(origin: a)
        #expect(t.openSockets(origin: a) == 1)
        t.socketClosed(fd: 7)
        #expect(t.openSockets(origin: a) == 0)
        #expect(t.roleForNewTransfer(origin: a) == .opener)
    }

    @Test func anOpenerThatEndsWithoutGettingReadyLetsTheNextOneOpen() {
        var t = H2cConnectionTracker()
        #expect(t.roleForNewTransfer(origin: a) == .opener)
        #expect(t.roleForNewTransfer(origin: a) == .wait)
        t.openerEnded(origin: a)  // connect refused
        #expect(t.roleForNewTransfer(origin: a) == .opener)
    }

    @Test func vetoedJoinersOfADeadConnectionRestartAsOneOpenerAndWait() {
        var t = H2cConnectionTracker()
        #expect(t.roleForNewTransfer(origin: a) == .opener)
        t.socketOpened(fd: 3, origin: a)
        t.openerReady(origin: a)
        // A burst joins the open connection; the backend had closed it, so libcurl closes the socket
        // and every joiner is vetoed. Restarted, one of them opens and the others wait for it.
        let burst = (0..<5).map { _ in t.roleForNewTransfer(origin: a) }
        #expect(burst == Array(repeating: .joiner, count: 5))
        t.socketClosed(fd: 3)
        let again = (0..<5).map { _ in t.roleForRestart(origin: a) }
        #expect(again == [.opener, .wait, .wait, .wait, .wait])
        t.socketOpened(fd: 4, origin: a)
        t.openerReady(origin: a)
        #expect(t.roleForNewTransfer(origin: a) == .joiner)
    }

    @Test func vetoedJoinersOfAFullConnectionOpenASecondOne() {
        var t = H2cConnectionTracker()
        #expect(t.roleForNewTransfer(origin: a) == .opener)
        t.socketOpened(fd: 3, origin: a)
        t.openerReady(origin: a)
        // The connection is open but has all the streams the server allows: joiners are vetoed while
        // it stays open, and restarting them opens one more connection, which the rest wait for.
        #expect(t.roleForNewTransfer(origin: a) == .joiner)
        #expect(t.roleForRestart(origin: a) == .opener)
        #expect(t.roleForRestart(origin: a) == .wait)
        t.socketOpened(fd: 4, origin: a)
        t.openerReady(origin: a)
        #expect(t.openSockets(origin: a) == 2)
        #expect(t.roleForRestart(origin: a) == .opener)
    }

    @Test func unknownAndRepeatedClosesAreIgnored() {
        var t = H2cConnectionTracker()
        #expect(t.roleForNewTransfer(origin: a) == .opener)
        t.socketOpened(fd: 5, origin: a)
        t.socketOpened(fd: 6, origin: a)  // another address of the same name
        t.socketClosed(fd: 99)  // not ours
        t.socketClosed(fd: 5)
        #expect(t.openSockets(origin: a) == 1)
        t.socketClosed(fd: 6)
        t.socketClosed(fd: 6)
        #expect(t.openSockets(origin: a) == 0)
    }

    @Test func originIsSchemeHostAndPortLowerCased() {
        #expect(H2cConnectionTracker.origin(of: "http://127.0.0.1:9000/rpc?x=1") == "http://127.0.0.1:9000")
        #expect(H2cConnectionTracker.origin(of: "HTTP://Users:9000") == "http://users:9000")
        #expect(H2cConnectionTracker.origin(of: "http://[::1]:80?q") == "http://[::1]:80")
        #expect(H2cConnectionTracker.origin(of: "http://h#frag") == "http://h")
    }
}

/// Status lines as libcurl hands them over: HTTP/1.1 with a reason, HTTP/2 with none.
@Suite struct CurlStatusLineTests {
    func status(_ line: String) -> Int {
        Array(line.utf8).withUnsafeBytes { CurlEasy.statusCode(ofStatusLine: $0) }
    }

    @Test func digitsOfTheSecondToken() {
        #expect(status("HTTP/1.1 200 OK\r\n") == 200)
        #expect(status("HTTP/2 204 \r\n") == 204)
        #expect(status("HTTP/2 503\r\n") == 503)
        #expect(status("HTTP/2 404") == 404)
        #expect(status("HTTP/1.1 20\r\n") == 0)
        #expect(status("HTTP/2\r\n") == 0)
        #expect(status("HTTP/1.1 abc\r\n") == 0)
    }
}
