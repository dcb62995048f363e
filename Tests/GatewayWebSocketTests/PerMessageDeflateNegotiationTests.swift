import GatewayWebSocket
import Testing

@Suite("permessage-deflate negotiation")
struct PerMessageDeflateNegotiationTests {
    let off = PerMessageDeflatePolicy()                          // contextTakeover false (the default)
    let on = PerMessageDeflatePolicy(contextTakeover: true)

    func header(_ offers: String, _ policy: PerMessageDeflatePolicy) -> String? {
        PerMessageDeflateNegotiation.negotiate([offers], policy: policy)?.responseHeader
    }

    @Test("without context takeover both sides are told to reset after every message")
    func noContextTakeover() throws {
        let p = try #require(PerMessageDeflateNegotiation.negotiate(["permessage-deflate"], policy: off))
        #expect(p.responseHeader == "permessage-deflate; server_no_context_takeover; client_no_context_takeover")
        #expect(p.serverNoContextTakeover && p.clientNoContextTakeover && p.serverMaxWindowBits == 15 && p.clientMaxWindowBits == 15)
    }

    @Test("with context takeover only what the client asked for is echoed")
    func contextTakeover() {
        #expect(header("permessage-deflate", on) == "permessage-deflate")
        #expect(header("permessage-deflate; client_no_context_takeover", on) == "permessage-deflate; client_no_context_takeover")
        #expect(header("permessage-deflate; server_no_context_takeover", on) == "permessage-deflate; server_no_context_takeover")
    }

    @Test("window bits: the smaller of the offer and the policy; client bits only when offered")
    func windowBits() throws {
        #expect(header("permessage-deflate; server_max_window_bits=10", on) == "permessage-deflate; server_max_window_bits=10")
        #expect(header("permessage-deflate; client_max_window_bits", on) == "permessage-deflate")
        #expect(header("permessage-deflate; client_max_window_bits=12", on) == "permessage-deflate; client_max_window_bits=12")
        let small = PerMessageDeflatePolicy(contextTakeover: true, maxWindowBits: 11)
        #expect(header("permessage-deflate; client_max_window_bits", small)
                == "permessage-deflate; server_max_window_bits=11; client_max_window_bits=11")
        #expect(header("permessage-deflate", small) == nil,
                "with context takeover a client window the policy cannot bound is declined (§7.1.2.2)")
        #expect(header("permessage-deflate; client_no_context_takeover", small)
                == "permessage-deflate; client_no_context_takeover; server_max_window_bits=11",
                "unless the client resets its window anyway")
        let smallOff = PerMessageDeflatePolicy(contextTakeover: false, maxWindowBits: 11)
        #expect(header("permessage-deflate", smallOff)
                == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=11",
                "no client_max_window_bits in the response when the offer has none")
        let p = try #require(PerMessageDeflateNegotiation.negotiate(["permessage-deflate", "x"], policy: smallOff))
        #expect(p.clientMaxWindowBits == 15, "the client may use 15: the inflater is sized for it")
        #expect(header("permessage-deflate; server_max_window_bits=\"9\"", on) == "permessage-deflate; server_max_window_bits=9",
                "a quoted value is the same value")
    }

    @Test("offers that cannot be honoured are declined, and the next one is taken")
    func declines() {
        for bad in ["permessage-deflate; server_max_window_bits=8", "permessage-deflate; server_max_window_bits",
                    "permessage-deflate; server_max_window_bits=16", "permessage-deflate; server_max_window_bits=010",
                    "permessage-deflate; client_max_window_bits=7", "permessage-deflate; server_no_context_takeover=1",
                    "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
                    "permessage-deflate; mystery"] {
            #expect(header(bad, on) == nil, "\(bad)")
            #expect(header(bad + ", permessage-deflate", on) == "permessage-deflate", "falls back to the next offer: \(bad)")
        }
        // An unterminated quote runs to the end of the header: nothing after it is an offer.
        #expect(header("permessage-deflate; server_max_window_bits=\"9, permessage-deflate", on) == nil)
        #expect(header("x-webkit-deflate-frame", on) == nil)
        #expect(PerMessageDeflateNegotiation.negotiate([], policy: on) == nil)
    }

    @Test("offers across several header lines, names case-insensitive, whitespace around everything")
    func parsing() {
        #expect(PerMessageDeflateNegotiation.negotiate(["foo", " Permessage-Deflate ;\tclient_max_window_bits = 9 "], policy: on)?
                .responseHeader == "permessage-deflate; client_max_window_bits=9")
    }
}
