// SHA-1 for the WebSocket opening handshake's Sec-WebSocket-Accept (RFC 6455 §4.2.2), through
// OpenSSL's block functions. Not `SHA1()` or EVP: in OpenSSL 3 those fetch the algorithm and
// allocate a context per call. The low-level calls are deprecated in 3.0 but run the same assembly
// (SHA-NI, AVX2) straight away, which is all a 60-byte input needs. Deprecation is silenced here
// only, so Swift never sees the deprecated declarations.
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include "CGatewayShims.h"

void cgw_sha1_init(SHA_CTX *ctx) { SHA1_Init(ctx); }

void cgw_sha1_update(SHA_CTX *ctx, const void *data, size_t count) { SHA1_Update(ctx, data, count); }

void cgw_sha1_final(SHA_CTX *ctx, unsigned char digest[20]) { SHA1_Final(digest, ctx); }
