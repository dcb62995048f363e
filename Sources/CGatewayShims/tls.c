// TLS over a BIO of the gateway's own (see CGatewayShims.h, "OpenSSL (TLS)"). In C because BIO methods,
// `SSL_CTX_set_*` macros and the ALPN callback do not cross into Swift.
#include "CGatewayShims.h"
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/// The state behind one connection's BIO.
typedef struct {
    const unsigned char *in;
    size_t in_len;
    cgw_tls_write_fn write;
    void *write_ctx;
} cgw_tls_io;

static BIO_METHOD *cgw_bio_method;
static pthread_once_t cgw_bio_once = PTHREAD_ONCE_INIT;

static int cgw_bio_create(BIO *b) {
    cgw_tls_io *io = OPENSSL_zalloc(sizeof(cgw_tls_io));
    if (io == NULL) return 0;
    BIO_set_data(b, io);
    BIO_set_init(b, 1);
    return 1;
}

static int cgw_bio_destroy(BIO *b) {
    OPENSSL_free(BIO_get_data(b));
    BIO_set_data(b, NULL);
    return 1;
}

static int cgw_bio_read(BIO *b, char *out, int len) {
    cgw_tls_io *io = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (io->in_len == 0) {
        BIO_set_retry_read(b);
        return -1;
    }
    size_t n = (size_t)len < io->in_len ? (size_t)len : io->in_len;
    memcpy(out, io->in, n);
    io->in += n;
    io->in_len -= n;
    return (int)n;
}

static int cgw_bio_write(BIO *b, const char *in, int len) {
    cgw_tls_io *io = BIO_get_data(b);
    BIO_clear_retry_flags(b);
    if (len > 0) io->write(io->write_ctx, in, (size_t)len);
    return len;
}

static long cgw_bio_ctrl(BIO *b, int cmd, long num, void *ptr) {
    (void)num;
    (void)ptr;
    cgw_tls_io *io = BIO_get_data(b);
    switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;
    case BIO_CTRL_PENDING: return (long)io->in_len;
    case BIO_CTRL_WPENDING: return 0;
    default: return 0;
    }
}

static void cgw_bio_init(void) {
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "gateway-loop");
    if (m == NULL) return;
    BIO_meth_set_create(m, cgw_bio_create);
    BIO_meth_set_destroy(m, cgw_bio_destroy);
    BIO_meth_set_read(m, cgw_bio_read);
    BIO_meth_set_write(m, cgw_bio_write);
    BIO_meth_set_ctrl(m, cgw_bio_ctrl);
    cgw_bio_method = m;
}

void cgw_tls_error(char *out, size_t out_len) {
    if (out_len == 0) return;
    out[0] = 0;
    unsigned long e = ERR_get_error();
    if (e != 0) ERR_error_string_n(e, out, out_len);
    ERR_clear_error();
}

static void cgw_fail(char *err, size_t err_len, const char *what) {
    char reason[200];
    cgw_tls_error(reason, sizeof reason);
    snprintf(err, err_len, "%s%s%s", what, reason[0] ? ": " : "", reason);
}

static const unsigned char cgw_alpn_http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};

/// Selects `http/1.1` when the client offers it. A client that offers ALPN without it gets the
/// `no_application_protocol` alert (RFC 7301 §3.2) instead of an HTTP/1.1 answer it did not ask for.
static int cgw_alpn_select(SSL *ssl, const unsigned char **out, unsigned char *out_len, const unsigned char *in,
                           unsigned int in_len, void *arg) {
    (void)ssl;
    (void)arg;
    unsigned char *selected = NULL;
    if (SSL_select_next_proto(&selected, out_len, cgw_alpn_http11, sizeof cgw_alpn_http11, in, in_len)
            == OPENSSL_NPN_NEGOTIATED) {
        *out = selected;
        return SSL_TLSEXT_ERR_OK;
    }
    return SSL_TLSEXT_ERR_ALERT_FATAL;
}

// Mozilla's intermediate profile for TLS 1.2, without the DHE suites: forward secrecy and AEAD only, so
// no CBC suite is ever negotiated. TLS 1.3 keeps OpenSSL's default suites (all AEAD).
static const char *cgw_tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:"
    "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

static void cgw_common(SSL_CTX *ctx) {
    // Idle connections give their 16 KiB+ read and write buffers back (memory per idle connection).
    SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION);
    SSL_CTX_set1_groups_list(ctx, "X25519:P-256:P-384");
}

SSL_CTX *cgw_tls_server_ctx(const char *cert_file, const char *key_file, int min_version, char *err, size_t err_len) {
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL) { cgw_fail(err, err_len, "SSL_CTX_new"); return NULL; }
    cgw_common(ctx);
    SSL_CTX_set_min_proto_version(ctx, min_version == 13 ? TLS1_3_VERSION : TLS1_2_VERSION);
    if (SSL_CTX_set_cipher_list(ctx, cgw_tls12_ciphers) != 1) {
        cgw_fail(err, err_len, "cipher list");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1) {
        cgw_fail(err, err_len, "certificate");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1) {
        cgw_fail(err, err_len, "key");
        SSL_CTX_free(ctx);
        return NULL;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        cgw_fail(err, err_len, "key does not match the certificate");
        SSL_CTX_free(ctx);
        return NULL;
    }
    SSL_CTX_set_alpn_select_cb(ctx, cgw_alpn_select, NULL);
    // Resumption by stateless tickets (keys are per context, so per certificate load); no server-side
    // session cache to hold or share between loops. One TLS 1.3 ticket instead of two halves the work
    // after each full handshake; a client reconnecting needs one.
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_num_tickets(ctx, 1);
    return ctx;
}

SSL_CTX *cgw_tls_client_ctx(int verify, const char *ca_file, char *err, size_t err_len) {
    ERR_clear_error();
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) { cgw_fail(err, err_len, "SSL_CTX_new"); return NULL; }
    cgw_common(ctx);
    SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
    SSL_CTX_set_alpn_protos(ctx, cgw_alpn_http11, sizeof cgw_alpn_http11);
    if (verify) {
        int ok = ca_file != NULL ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL) : SSL_CTX_set_default_verify_paths(ctx);
        if (ok != 1) {
            cgw_fail(err, err_len, "CA certificates");
            SSL_CTX_free(ctx);
            return NULL;
        }
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
    } else {
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
    }
    return ctx;
}

SSL *cgw_tls_new(SSL_CTX *ctx, int is_server, cgw_tls_write_fn write, void *write_ctx, const char *server_name) {
    pthread_once(&cgw_bio_once, cgw_bio_init);
    if (cgw_bio_method == NULL) return NULL;
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL) return NULL;
    BIO *bio = BIO_new(cgw_bio_method);
    if (bio == NULL) {
        SSL_free(ssl);
        return NULL;
    }
    cgw_tls_io *io = BIO_get_data(bio);
    io->write = write;
    io->write_ctx = write_ctx;
    SSL_set_bio(ssl, bio, bio);  // one BIO for both directions; SSL_free frees it
    if (is_server) {
        SSL_set_accept_state(ssl);
    } else {
        SSL_set_connect_state(ssl);
        if (server_name != NULL) {
            SSL_set_tlsext_host_name(ssl, server_name);
            SSL_set1_host(ssl, server_name);
        }
    }
    return ssl;
}

void cgw_tls_set_input(SSL *ssl, const void *bytes, size_t count) {
    cgw_tls_io *io = BIO_get_data(SSL_get_rbio(ssl));
    io->in = bytes;
    io->in_len = count;
}

void cgw_tls_alpn(SSL *ssl, char *out, size_t out_len) {
    const unsigned char *p = NULL;
    unsigned int n = 0;
    SSL_get0_alpn_selected(ssl, &p, &n);
    if (out_len == 0) return;
    if (n >= out_len) n = (unsigned int)out_len - 1;
    if (p != NULL) memcpy(out, p, n);
    out[n] = 0;
}
