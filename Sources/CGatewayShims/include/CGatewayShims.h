// The one C module of the gateway. Everything that includes glibc, liburing, libcurl or hiredis headers sits
// behind this header so Clang sees those headers through a single module (two system-library modules
// that both include glibc fail with "'__fds_bits' ... not present in definition of 'fd_set'").
// Each shim exists because Swift cannot use the C construct directly; the comment says which.
#ifndef C_GATEWAY_SHIMS_H
#define C_GATEWAY_SHIMS_H

// Included first on purpose: glibc's feature macros are fixed by the first system header. liburing.h
// defines _GNU_SOURCE itself; if it came first, this module's glibc declarations would differ from
// Swift's Glibc module ("__rusage_who has different definitions in different modules").
#include <sys/types.h>

#if __has_include(<liburing.h>)
#include <liburing.h>
#else
#error "liburing.h not found: install liburing-dev (apt-get install -y liburing-dev)"
#endif

#if __has_include(<curl/curl.h>)
#include <curl/curl.h>
#else
#error "curl/curl.h not found: install libcurl4-openssl-dev (apt-get install -y libcurl4-openssl-dev)"
#endif

// hiredis is used only for its RESP reader and its command formatter (GatewayRedis); its sockets and
// async adapters are not: the connections are the event loop's, so they work the same on both engines.
// It sits in this module for the same reason as libcurl: its headers include glibc's.
#if __has_include(<hiredis/hiredis.h>)
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#else
#error "hiredis/hiredis.h not found: install libhiredis-dev (apt-get install -y libhiredis-dev)"
#endif

// OpenSSL 3's libcrypto: HMAC for the tokens checked at connect (DESIGN §9, Gateway/Auth). Here for the
// same reason as libcurl: its headers include glibc's.
#if __has_include(<openssl/hmac.h>)
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/ecdsa.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/sha.h>
#else
#error "openssl/hmac.h not found: install libssl-dev (apt-get install -y libssl-dev)"
#endif

// zlib: permessage-deflate (RFC 7692, GatewayWebSocket). Here for the same reason as libcurl: zconf.h
// includes glibc's headers.
#if __has_include(<zlib.h>)
#include <zlib.h>
#else
#error "zlib.h not found: install zlib1g-dev (apt-get install -y zlib1g-dev)"
#endif

// c-ares: host names of backends resolved on the event loop (GatewayBackend/DNS). Here for the same reason as
// libcurl: ares.h includes glibc's socket headers.
#if __has_include(<ares.h>)
#include <ares.h>
#else
#error "ares.h not found: install libc-ares-dev (apt-get install -y libc-ares-dev)"
#endif

#include <errno.h>
#include <malloc.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
// timerfd: gateway-bench paces its open-loop sends with one (Glibc's Swift module does not include it).
#include <sys/timerfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

// MARK: io_uring

/// `IOSQE_BUFFER_SELECT` is `(1U << IOSQE_BUFFER_SELECT_BIT)` over an enum constant: Swift does not import it.
static inline uint8_t CGW_IOSQE_BUFFER_SELECT(void) { return (uint8_t)IOSQE_BUFFER_SELECT; }

/// `IORING_CQE_BUFFER_SHIFT` as a function for symmetry with the flag accessors.
static inline uint32_t CGW_IORING_CQE_BUFFER_SHIFT(void) { return IORING_CQE_BUFFER_SHIFT; }

/// Multishot recv is selected through `ioprio` (`IORING_RECV_MULTISHOT`); liburing 2.3 has the helper,
/// but buffer selection needs the flag set on the SQE as well, which this does in one place.
static inline void cgw_prep_recv_multishot_select(struct io_uring_sqe *sqe, int fd, uint16_t group, uint64_t user_data) {
    io_uring_prep_recv_multishot(sqe, fd, NULL, 0, 0);
    sqe->flags |= IOSQE_BUFFER_SELECT;
    sqe->buf_group = group;
    io_uring_sqe_set_data64(sqe, user_data);
}

/// Allocates (page-aligned, as the kernel requires) and registers a provided-buffer ring of `entries`
/// (a power of two) for buffer group `bgid`. liburing 2.3 lacks `io_uring_setup_buf_ring`, and Swift
/// cannot see `struct io_uring_buf_ring` (flexible array member in a union), so the ring is a void*.
/// Returns NULL and sets *err (negative errno) on failure.
void *cgw_buf_ring_setup(struct io_uring *ring, unsigned entries, int bgid, int *err);

/// Unregisters and frees a ring made by `cgw_buf_ring_setup`.
void cgw_buf_ring_free(struct io_uring *ring, void *br, unsigned entries, int bgid);

/// Hands buffer `bid` (at `addr`, `len` bytes) to the kernel at position tail+`offset`.
static inline void cgw_buf_ring_add(void *br, void *addr, unsigned len, unsigned short bid, int mask, int offset) {
    io_uring_buf_ring_add((struct io_uring_buf_ring *)br, addr, len, bid, mask, offset);
}

/// Publishes `count` buffers added with `cgw_buf_ring_add`.
static inline void cgw_buf_ring_advance(void *br, int count) {
    io_uring_buf_ring_advance((struct io_uring_buf_ring *)br, count);
}

// MARK: sockets

/// `accept4` is a GNU extension that Swift's Glibc module does not expose (it is built without
/// _GNU_SOURCE); shims.c defines _GNU_SOURCE for its own translation unit only.
int cgw_accept4(int fd, int flags);

// MARK: libcurl (curl_easy_setopt / curl_multi_setopt / curl_easy_getinfo are variadic: Swift cannot call them)

typedef size_t (*cgw_curl_data_fn)(char *ptr, size_t size, size_t nmemb, void *userdata);
typedef int (*cgw_curl_socket_fn)(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp);
typedef int (*cgw_curl_timer_fn)(CURLM *multi, long timeout_ms, void *userp);

static inline CURLcode cgw_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cgw_easy_setopt_ptr(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cgw_easy_setopt_str(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cgw_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cgw_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cgw_easy_setopt_data_fn(CURL *h, CURLoption o, cgw_curl_data_fn v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode cgw_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode cgw_easy_getinfo_ptr(CURL *h, CURLINFO i, void **v) { return curl_easy_getinfo(h, i, v); }

static inline CURLMcode cgw_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }
static inline CURLMcode cgw_multi_setopt_ptr(CURLM *m, CURLMoption o, void *v) { return curl_multi_setopt(m, o, v); }
static inline CURLMcode cgw_multi_setopt_socket_fn(CURLM *m, cgw_curl_socket_fn v) { return curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, v); }
static inline CURLMcode cgw_multi_setopt_timer_fn(CURLM *m, cgw_curl_timer_fn v) { return curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, v); }

typedef curl_socket_t (*cgw_curl_opensocket_fn)(void *clientp, curlsocktype purpose, struct curl_sockaddr *address);
typedef int (*cgw_curl_closesocket_fn)(void *clientp, curl_socket_t fd);
static inline CURLcode cgw_easy_setopt_opensocket_fn(CURL *h, cgw_curl_opensocket_fn v) { return curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, v); }
static inline CURLcode cgw_easy_setopt_closesocket_fn(CURL *h, cgw_curl_closesocket_fn v) { return curl_easy_setopt(h, CURLOPT_CLOSESOCKETFUNCTION, v); }
typedef int (*cgw_curl_prereq_fn)(void *clientp, char *primary_ip, char *local_ip, int primary_port, int local_port);
static inline CURLcode cgw_easy_setopt_prereq_fn(CURL *h, cgw_curl_prereq_fn v) { return curl_easy_setopt(h, CURLOPT_PREREQFUNCTION, v); }
/// What libcurl's own open-socket step does, for an open-socket callback that lets the connection
/// go ahead (the h2c work-around in `CurlMulti` only watches and vetoes).
static inline curl_socket_t cgw_curl_open_socket(const struct curl_sockaddr *a) { return socket(a->family, a->socktype, a->protocol); }
/// `LIBCURL_VERSION_NUM` of the libcurl loaded at run time (0xXXYYZZ).
static inline unsigned int cgw_curl_version_num(void) { return curl_version_info(CURLVERSION_NOW)->version_num; }

/// `CURLMsg.data` is a union; Swift imports it, but this keeps the accessor obvious.
static inline CURLcode cgw_msg_result(CURLMsg *m) { return m->data.result; }

/// Pause/continue constants are macro expressions Swift does not import.
static inline size_t cgw_curl_writefunc_pause(void) { return CURL_WRITEFUNC_PAUSE; }
static inline size_t cgw_curl_readfunc_pause(void) { return CURL_READFUNC_PAUSE; }
static inline int cgw_curlpause_cont(void) { return CURLPAUSE_CONT; }

/// `CURL_SOCKET_TIMEOUT` is `CURL_SOCKET_BAD`, a macro over a cast Swift does not import.
static inline curl_socket_t cgw_curl_socket_timeout(void) { return CURL_SOCKET_TIMEOUT; }

// MARK: hiredis (reader and formatter only)

/// A reader like `redisReaderCreate`'s, except that a null array (`*-1`) comes back as a
/// `REDIS_REPLY_NIL` whose `integer` is 1, so that it can be told from a null bulk string (`$-1`,
/// `integer` 0). hiredis 0.14 makes both the same NIL object; its default reply functions are static,
/// so the shim wraps `createNil` through the reader's function table. Free with `redisReaderFree`.
redisReader *cgw_redis_reader_create(void);

/// The reader's error text (`redisReaderGetError` is a macro over a char array Swift imports as a tuple).
static inline const char *cgw_redis_reader_error(const redisReader *r) { return r->errstr; }

/// Element `i` of an array reply (`element` is a pointer to pointers; this keeps the Swift side plain).
static inline redisReply *cgw_redis_reply_element(const redisReply *r, size_t i) { return r->element[i]; }

// MARK: OpenSSL (public keys for tokens)

/// Reads up to `max` public keys (`-----BEGIN PUBLIC KEY-----` blocks) from PEM text into `out`;
/// returns how many. Free each with `EVP_PKEY_free`. A shim because the PEM reader works on a BIO,
/// whose set-up is macros and ownership rules best kept in C.
int cgw_pem_public_keys(const char *pem, size_t length, EVP_PKEY **out, int max);

/// 1 when `sig` is a valid signature of `data` by `key` with SHA-`bits` (256, 384, 512): RSA
/// PKCS#1 v1.5 for an RSA key; for an EC key `sig` is a JWS signature, the raw `r || s` (RFC 7518
/// §3.4), turned into DER here. 0 otherwise.
int cgw_verify_signature(EVP_PKEY *key, int bits, const unsigned char *data, size_t length,
                         const unsigned char *sig, size_t sig_length);

/// `EVP_PKEY_RSA`, `EVP_PKEY_EC` or another type id, and for EC the curve's bits (256 for P-256).
int cgw_pkey_type(EVP_PKEY *key, int *ec_bits);

// MARK: OpenSSL (TLS, GatewayIO/TLS)
//
// A TLS connection runs over a BIO of our own: its read side serves the ciphertext the loop just
// received (no copy into a memory BIO first) and its write side hands every record OpenSSL produces
// to a callback that appends it to the connection's send queue. So TLS is a byte transform between
// the socket and the protocol machines, the same on both I/O engines.

/// SHA-1 through OpenSSL's block functions, for `Sec-WebSocket-Accept` (sha1.c says why not `SHA1()`).
void cgw_sha1_init(SHA_CTX *ctx);
/// Adds `count` bytes.
void cgw_sha1_update(SHA_CTX *ctx, const void *data, size_t count);
/// Writes the 20-byte digest; `ctx` is spent.
void cgw_sha1_final(SHA_CTX *ctx, unsigned char digest[20]);

/// Receives the ciphertext OpenSSL writes (`ctx` is the pointer given to `cgw_tls_new`).
typedef void (*cgw_tls_write_fn)(void *ctx, const void *bytes, size_t count);

/// A server context: the certificate chain and key from PEM files, TLS `min_version` (12 or 13) and
/// up, Mozilla's intermediate TLS 1.2 suites (ECDHE with AES-GCM or ChaCha20-Poly1305 only), ALPN
/// `http/1.1`, stateless session tickets. NULL on failure with the reason in `err`.
SSL_CTX *cgw_tls_server_ctx(const char *cert_file, const char *key_file, int min_version, char *err, size_t err_len);

/// A client context (TLS 1.2 and up, ALPN `http/1.1`). `verify` 0 accepts any certificate (load
/// generators against self-signed test certificates); otherwise the peer is checked against
/// `ca_file` or, when NULL, the system store.
SSL_CTX *cgw_tls_client_ctx(int verify, const char *ca_file, char *err, size_t err_len);

/// A connection over the callback BIO; `server_name` (may be NULL) is sent as SNI and checked when
/// verifying. NULL on failure.
SSL *cgw_tls_new(SSL_CTX *ctx, int is_server, cgw_tls_write_fn write, void *write_ctx, const char *server_name);

/// Points the BIO's read side at `count` received bytes (NULL, 0 to clear). OpenSSL consumes them
/// in the following SSL calls; what it does not need yet it keeps in its own record buffer.
void cgw_tls_set_input(SSL *ssl, const void *bytes, size_t count);

/// The negotiated ALPN protocol into `out` (NUL-terminated, empty when none).
void cgw_tls_alpn(SSL *ssl, char *out, size_t out_len);

/// Drains OpenSSL's error queue into `out` (the first error's text, or empty).
void cgw_tls_error(char *out, size_t out_len);

// MARK: zlib (permessage-deflate)

/// `deflateInit2` is a macro (it passes `ZLIB_VERSION` and `sizeof(z_stream)`): Swift cannot call it.
/// Raw deflate (`-windowBits`, no zlib header) as RFC 7692 §7.2.1 needs, default strategy.
static inline int cgw_deflate_init(z_stream *s, int level, int windowBits, int memLevel) {
    return deflateInit2(s, level, Z_DEFLATED, -windowBits, memLevel, Z_DEFAULT_STRATEGY);
}

/// `inflateInit2` is a macro too. Raw inflate with a window of `windowBits` (8–15).
static inline int cgw_inflate_init(z_stream *s, int windowBits) {
    return inflateInit2(s, -windowBits);
}

#endif
