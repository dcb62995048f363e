// The few shims that are not static inline in CGatewayShims.h.
#define _GNU_SOURCE 1  // for accept4 in this translation unit only (see CGatewayShims.h)
#include "CGatewayShims.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

void *cgw_buf_ring_setup(struct io_uring *ring, unsigned entries, int bgid, int *err) {
    void *mem = NULL;
    size_t size = (size_t)entries * sizeof(struct io_uring_buf);
    int r = posix_memalign(&mem, 4096, size < 4096 ? 4096 : size);
    if (r != 0) { *err = -r; return NULL; }
    memset(mem, 0, size < 4096 ? 4096 : size);
    struct io_uring_buf_reg reg;
    memset(&reg, 0, sizeof(reg));
    reg.ring_addr = (unsigned long)mem;
    reg.ring_entries = entries;
    reg.bgid = (unsigned short)bgid;
    r = io_uring_register_buf_ring(ring, &reg, 0);
    if (r != 0) { free(mem); *err = r; return NULL; }
    io_uring_buf_ring_init((struct io_uring_buf_ring *)mem);
    *err = 0;
    return mem;
}

void cgw_buf_ring_free(struct io_uring *ring, void *br, unsigned entries, int bgid) {
    (void)entries;
    io_uring_unregister_buf_ring(ring, bgid);
    free(br);
}

int cgw_accept4(int fd, int flags) {
    return accept4(fd, NULL, NULL, flags);
}

// MARK: hiredis

static redisReplyObjectFunctions cgw_redis_functions;
static void *(*cgw_redis_default_create_nil)(const redisReadTask *);
static pthread_once_t cgw_redis_functions_once = PTHREAD_ONCE_INIT;

/// hiredis calls createNil for `$-1` with the task typed REDIS_REPLY_STRING and for `*-1` with it
/// typed REDIS_REPLY_ARRAY; the NIL object's unused `integer` field records which.
static void *cgw_redis_create_nil(const redisReadTask *task) {
    redisReply *reply = cgw_redis_default_create_nil(task);
    if (reply != NULL && task->type == REDIS_REPLY_ARRAY) reply->integer = 1;
    return reply;
}

/// Copies hiredis' default (static) function table once, replacing only createNil.
static void cgw_redis_functions_init(void) {
    redisReader *r = redisReaderCreate();
    if (r == NULL) return;
    cgw_redis_functions = *r->fn;
    cgw_redis_default_create_nil = r->fn->createNil;
    cgw_redis_functions.createNil = cgw_redis_create_nil;
    redisReaderFree(r);
}

redisReader *cgw_redis_reader_create(void) {
    pthread_once(&cgw_redis_functions_once, cgw_redis_functions_init);
    redisReader *r = redisReaderCreate();
    if (r != NULL && cgw_redis_default_create_nil != NULL) r->fn = &cgw_redis_functions;
    return r;
}

int cgw_pem_public_keys(const char *pem, size_t length, EVP_PKEY **out, int max) {
    BIO *bio = BIO_new_mem_buf(pem, (int)length);
    if (bio == NULL) return 0;
    int n = 0;
    while (n < max) {
        EVP_PKEY *key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
        if (key == NULL) break;
        out[n++] = key;
    }
    ERR_clear_error();  /* the read that ends the loop leaves "no start line" behind */
    BIO_free(bio);
    return n;
}

int cgw_pkey_type(EVP_PKEY *key, int *ec_bits) {
    int type = EVP_PKEY_get_base_id(key);
    if (ec_bits) *ec_bits = type == EVP_PKEY_EC ? EVP_PKEY_get_bits(key) : 0;
    return type;
}

int cgw_verify_signature(EVP_PKEY *key, int bits, const unsigned char *data, size_t length,
                         const unsigned char *sig, size_t sig_length) {
    const EVP_MD *md = bits == 256 ? EVP_sha256() : bits == 384 ? EVP_sha384() : bits == 512 ? EVP_sha512() : NULL;
    if (md == NULL) return 0;
    unsigned char *der = NULL;
    int der_length = 0;
    if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC) {
        /* JWS carries r || s, each the curve's size; OpenSSL verifies DER. */
        if (sig_length == 0 || sig_length % 2 != 0) return 0;
        size_t half = sig_length / 2;
        ECDSA_SIG *es = ECDSA_SIG_new();
        BIGNUM *r = BN_bin2bn(sig, (int)half, NULL), *s = BN_bin2bn(sig + half, (int)half, NULL);
        if (es == NULL || r == NULL || s == NULL || !ECDSA_SIG_set0(es, r, s)) {
            BN_free(r); BN_free(s); ECDSA_SIG_free(es);
            return 0;
        }
        der_length = i2d_ECDSA_SIG(es, &der);
        ECDSA_SIG_free(es);
        if (der_length <= 0) return 0;
        sig = der;
        sig_length = (size_t)der_length;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL
        && EVP_DigestVerifyInit(ctx, NULL, md, NULL, key) == 1
        && EVP_DigestVerify(ctx, sig, sig_length, data, length) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ERR_clear_error();
    return ok ? 1 : 0;
}
