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
