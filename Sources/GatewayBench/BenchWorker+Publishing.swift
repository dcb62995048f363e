internal import GatewayIO
internal import GatewayWebSocket

extension BenchWorker {
    /// Opens the publisher's connection (publisher worker, at start-up).
    func startPublisher(now: UInt64) {
        publishTimer = loop.makeTimer { [unowned self] in self.publishDue() }
        switch config.publisher {
        case .webSocket(let url, _)?:
            clients.first?.start(now: now, to: url)
        case .http(let url, let body, let headers)?:
            let p = HTTPPublisher(worker: self, url: url, body: body, headers: headers)
            httpPublisher = p
            p.connect()
        case nil:
            break
        }
    }

    /// Starts publishing at `--rate` (warm-up begins).
    func startPublishing(now: UInt64) {
        nextPublish = now
        publishDue()
    }

    /// Publishes everything that is due (catching up after a stall, as wsload), then re-arms the
    /// timer. Publishes only during warm-up and the measured window.
    func publishDue() {
        var phase = control.phase
        guard phase == .warmup || phase == .measure, config.publishRate > 0 else { return }
        let interval = UInt64(1e9 / config.publishRate)
        var now = MonotonicClock.now()
        while now >= nextPublish {
            if let h = httpPublisher {
                if h.busy { return }  // its response calls publishDue again
            } else if clients.first?.isOpen != true {
                return  // the WebSocket publisher is gone
            }
            publishOne(phase: phase)
            nextPublish &+= interval
            now = MonotonicClock.now()
            phase = control.phase
            guard phase == .warmup || phase == .measure else { return }
        }
        publishTimer?.schedule(at: nextPublish)
    }

    private func publishOne(phase: BenchPhase) {
        guard let log = publishLog else { return }
        let ts = MonotonicClock.now()
        guard log.record(timestamp: ts, measured: phase == .measure) else {
            stats.publishErrors += 1
            return
        }
        switch config.publisher {
        case .webSocket(_, let template)?:
            guard let client = clients.first, let c = client.connection else { return }
            let n = template.render(into: scratch, seq: 0, conn: 0, ts: ts)
            let payload = UnsafeRawBufferPointer(start: scratch, count: n)
            let key = random.maskingKey()
            c.write { WebSocketFrameEncoder.writeFrame(opcode: .text, payload: payload, maskingKey: key, into: &$0) }
        case .http?:
            httpPublisher?.send(ts: ts)
        case nil:
            break
        }
    }
}
