// Type declarations for gateway-client.js (the gateway's `json` wire format client).

/** Connection states, in order: `connecting` → `open` → (`reconnecting` → `open`)* → `closed`. */
export type State = "connecting" | "open" | "reconnecting" | "closed";

/** Options of `connect`. Every key is optional; `defaults` holds the values used otherwise. */
export interface Options {
  /** A WebSocket constructor (default: the global one, else the Node implementation shipped here). */
  WebSocket?: new (url: string, protocols?: string | string[], tls?: TLSOptions) => WebSocketLike;
  /** Subprotocols to offer. */
  protocols?: string | string[];
  /** TLS options for the Node implementation (ignored by browsers). */
  tls?: TLSOptions;
  /** First reconnect delay in ms (250). */
  initialDelayMs?: number;
  /** Longest reconnect delay in ms (30000). */
  maxDelayMs?: number;
  /** Delay growth per failed attempt (2). */
  backoffFactor?: number;
  /** Default request timeout in ms (10000). */
  requestTimeoutMs?: number;
  /** Requests held while offline (100); beyond it `request` rejects with `offline_queue_full`. */
  maxQueued?: number;
  /** Reconnect after a drop (true). */
  reconnect?: boolean;
}

/** TLS options of the Node implementation. */
export interface TLSOptions {
  /** PEM of the CA(s) to trust (e.g. a self-signed certificate). */
  ca?: string | Buffer | Array<string | Buffer>;
  /** Verify the server certificate (true). */
  rejectUnauthorized?: boolean;
}

/** The part of the WebSocket API the client uses. */
export interface WebSocketLike {
  readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code?: number; reason?: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

/** The values used for options that are not given. */
export const defaults: Readonly<Required<Omit<Options, "WebSocket" | "protocols" | "tls">>>;

/** A request's failure: the gateway's error object, or a client-side code. */
export class GatewayError extends Error {
  /** `bad_message`, `unknown_command`, `too_large`, `rate_limited`, `backend_unavailable`,
   *  `backend_timeout`, `backend_error` (from the gateway), or `timeout`, `offline_queue_full`,
   *  `closed`, `not_sent` (from the client). */
  code: string;
  /** HTTP status the gateway gave (the backend's status for `backend_error`). */
  status?: number;
  /** The request's command. */
  cmd?: string;
  /** Milliseconds after which a retry may succeed, when the gateway says (an open circuit). */
  retryAfterMs?: number;
}

/** Handlers by event name; any other name is a command whose pushes the handler receives. */
export interface Events {
  state: (state: State, previous: State) => void;
  open: () => void;
  close: (info: { code?: number; reason?: string }) => void;
  welcome: (message: unknown) => void;
  message: (message: unknown) => void;
  error: (error: unknown) => void;
}

export class GatewayClient {
  constructor(url: string, options?: Options);
  readonly url: string;
  /** Current state. */
  readonly state: State;
  /** The connection's first message when it is not an envelope (the handshake hook's body). */
  readonly welcome: unknown;
  /** Sends `cmd` and resolves with the reply's `data`; rejects with a `GatewayError`. */
  request<T = unknown>(cmd: string, data?: unknown, options?: { timeoutMs?: number }): Promise<T>;
  /** Sends without waiting for a reply; false when the offline queue is full or the client closed. */
  send(cmd: string, data?: unknown): boolean;
  /** Adds a handler; returns a function that removes it. */
  on<K extends keyof Events>(event: K, handler: Events[K]): () => void;
  on(cmd: string, handler: (data: unknown, envelope: { cmd: string; data?: unknown }) => void): () => void;
  /** Closes for good; pending requests reject with `closed`. */
  close(code?: number, reason?: string): void;
}

/** Opens a client on a ws:// or wss:// URL of a `json` module. */
export function connect(url: string, options?: Options): GatewayClient;

export const STATES: readonly State[];
