@testable import GatewayBackend
import Testing

/// The roles of h2c transfers under libcurl before 8.0 (`H2cConnectionTracker`): one opener per
/// origin at a time, joiners while a connection is open or being opened.
@Suite struct H2cConnectionTrackerTests {
    let a = "http://127.0.0.1:9000"
    let b = "http://127.0.0.1:9001"

    @Test func aBurstHasOneOpenerAndTheRestJoin() {
        var t = H2cConnectionTracker()
        #expect(t.roleForNewTransfer(origin: a) == .opener)
        for _ in 0..<49 { #expect(t.roleForNewTransfer(origin: a) == .joiner) }
        // Another origin is independent.
        #expect(t.roleForNewTransfer(origin: b) == .opener)
    }

    @Test func joinersWhileAConnectionIsOpenAndAnOpenerAfterItCloses() {
        var t = H2cConnectionTracker()
        #expect(t.roleForNewTransfer(origin: a) == .opener)
        t.socketOpened(fd: 7, origin: a, firstForTransfer: true)
        #expect(t.openSockets(origin: a) == 1)
        #expect(t.roleForNewTransfer(origin: a) == .joiner)
        t.socketClosed(fd: 7)
        #expect(t.openSockets(origin: a) == 0)
        #expect(t.roleForNewTransfer(origin: a) == .opener)
    }

    @Test func anOpenerThatEndsWithoutASocketLetsTheNextOneOpen() {
        var t = H2cConnectionTracker()
        #expect(t.roleForNewTransfer(origin: a) == .opener)
        t.openerEnded(origin: a)
        #expect(t.roleForNewTransfer(origin: a) == .opener)
    }

    @Test func aVetoedJoinerPromotedToOpenerCountsAsOpening() {
        var t = H2cConnectionTracker()
        #expect(t.roleForNewTransfer(origin: a) == .opener)
        t.socketOpened(fd: 3, origin: a, firstForTransfer: true)
        t.socketClosed(fd: 3)
        // A joiner added before the close found no connection and was vetoed: it opens now.
        t.promoteToOpener(origin: a)
        #expect(t.roleForNewTransfer(origin: a) == .joiner)
        t.socketOpened(fd: 4, origin: a, firstForTransfer: true)
        t.socketClosed(fd: 4)
        #expect(t.roleForNewTransfer(origin: a) == .opener)
    }

    @Test func secondSocketsOfOneTransferAndUnknownClosesAreCountedRight() {
        var t = H2cConnectionTracker()
        #expect(t.roleForNewTransfer(origin: a) == .opener)
        t.socketOpened(fd: 5, origin: a, firstForTransfer: true)
        t.socketOpened(fd: 6, origin: a, firstForTransfer: false)  // another address of the same name
        t.socketClosed(fd: 99)  // not ours: ignored
        t.socketClosed(fd: 5)
        #expect(t.openSockets(origin: a) == 1)
        t.socketClosed(fd: 6)
        t.socketClosed(fd: 6)  // twice: still not negative
        #expect(t.openSockets(origin: a) == 0)
        #expect(t.roleForNewTransfer(origin: a) == .opener)
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
