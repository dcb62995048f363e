import GatewayWebSocket
import Testing

@Suite struct WebSocketCloseStateTests {
    @Test func peerClosesFirst() {
        var state = WebSocketCloseState()
        #expect(state.canSendData)
        #expect(state.receivedClose(code: .goingAway) == .sendCloseAndCloseConnection(.goingAway))
        #expect(state.state == .closed)
        #expect(!state.canSendData)
        #expect(state.sendClose(code: .normalClosure) == .alreadySent)
        #expect(state.receivedClose(code: .normalClosure) == .ignore)
    }

    @Test func peerClosesWithoutCodeIsAnsweredWith1000() {
        var state = WebSocketCloseState()
        #expect(state.receivedClose(code: nil) == .sendCloseAndCloseConnection(.normalClosure))
    }

    @Test func weCloseFirst() {
        var state = WebSocketCloseState()
        #expect(state.sendClose(code: .goingAway) == .send(.goingAway))
        #expect(state.state == .closeSent(.goingAway))
        #expect(!state.canSendData)
        #expect(state.sendClose(code: .protocolError) == .alreadySent)
        #expect(state.receivedClose(code: .goingAway) == .closeConnection)
        #expect(state.state == .closed)
        #expect(state.receivedClose(code: .goingAway) == .ignore)
    }
}
