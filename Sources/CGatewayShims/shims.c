// The few shims that are not static inline in CGatewayShims.h.
#define _GNU_SOURCE 1  // for accept4 in this translation unit only (see CGatewayShims.h)
#include "CGatewayShims.h"
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
