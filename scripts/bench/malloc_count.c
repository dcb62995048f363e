/*
 * malloc_count.c - tiny allocation counter for LD_PRELOAD (used by scripts/bench/bench.py).
 *
 *   cc -O2 -shared -fPIC -o malloc_count.so malloc_count.c -ldl -lpthread
 *   MALLOC_COUNT_FILE=/tmp/allocs.txt LD_PRELOAD=$PWD/malloc_count.so ./gateway serve ...
 *
 * Counts calls to malloc, calloc, realloc, posix_memalign, aligned_alloc (and memalign,
 * valloc, pvalloc) as "allocs" and calls to free with a non-NULL pointer as "frees", in
 * relaxed atomics (a realloc counts as one alloc). When MALLOC_COUNT_FILE is set, a background
 * thread started from the constructor appends one line every 200 ms (and one at exit):
 *
 *   <CLOCK_MONOTONIC ns> <allocs> <frees> <allocs called directly from libcurl> <reallocs>
 *
 * The first three columns are the interface; the others are extras:
 *   - allocations whose immediate caller (return address) lies in a loaded object whose path
 *     contains "libcurl" (libcurl calls malloc through its Curl_cmalloc pointers, so this
 *     catches its own allocations, not those of the libraries it calls);
 *   - realloc calls with a non-NULL pointer: counted in allocs, but the block they replace is
 *     not counted in frees, so live blocks = allocs - frees - reallocs (a steady state with
 *     that difference growing means blocks are kept, i.e. a leak or an unbounded cache).
 * Lines are written with write(2) from a stack buffer, so the counter itself does not allocate
 * after start-up.
 *
 * The real functions are found with dlsym(RTLD_NEXT); allocations made while dlsym itself runs
 * (glibc's dlsym may call calloc) are served from a small static arena that is never freed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic unsigned long long n_allocs;
static _Atomic unsigned long long n_frees;
static _Atomic unsigned long long n_curl_allocs;
static _Atomic unsigned long long n_reallocs;

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void *(*real_valloc)(size_t);
static void *(*real_pvalloc)(size_t);

/* Bootstrap arena for allocations requested while the real functions are being resolved. */
static _Alignas(64) unsigned char arena[65536];
static size_t arena_used;
static int resolving;

static int in_arena(const void *p) {
    return (const unsigned char *)p >= arena && (const unsigned char *)p < arena + sizeof arena;
}

static void *arena_alloc(size_t size, size_t align) {
    if (align < 16) align = 16;
    size_t off = (arena_used + align - 1) & ~(align - 1);
    if (off + size > sizeof arena) return NULL;
    arena_used = off + size;
    return arena + off; /* static storage: already zeroed */
}

static void resolve(void) {
    if (real_malloc || resolving) return;
    resolving = 1;
    real_calloc = dlsym(RTLD_NEXT, "calloc");
    real_realloc = dlsym(RTLD_NEXT, "realloc");
    real_free = dlsym(RTLD_NEXT, "free");
    real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
    real_memalign = dlsym(RTLD_NEXT, "memalign");
    real_valloc = dlsym(RTLD_NEXT, "valloc");
    real_pvalloc = dlsym(RTLD_NEXT, "pvalloc");
    real_malloc = dlsym(RTLD_NEXT, "malloc"); /* last: it marks "resolved" */
    resolving = 0;
}

/* Text ranges of loaded objects whose path contains "libcurl". */
#define MAX_RANGES 8
static uintptr_t curl_lo[MAX_RANGES], curl_hi[MAX_RANGES];
static _Atomic int curl_ranges;

static int find_curl(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size; (void)data;
    if (!info->dlpi_name || !strstr(info->dlpi_name, "libcurl")) return 0;
    int n = atomic_load_explicit(&curl_ranges, memory_order_relaxed);
    for (int i = 0; i < info->dlpi_phnum && n < MAX_RANGES; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
            curl_lo[n] = info->dlpi_addr + ph->p_vaddr;
            curl_hi[n] = curl_lo[n] + ph->p_memsz;
            n++;
        }
    }
    atomic_store_explicit(&curl_ranges, n, memory_order_release);
    return 0;
}

static inline void count_alloc(void *caller) {
    atomic_fetch_add_explicit(&n_allocs, 1, memory_order_relaxed);
    int n = atomic_load_explicit(&curl_ranges, memory_order_acquire);
    uintptr_t a = (uintptr_t)caller;
    for (int i = 0; i < n; i++) {
        if (a >= curl_lo[i] && a < curl_hi[i]) {
            atomic_fetch_add_explicit(&n_curl_allocs, 1, memory_order_relaxed);
            break;
        }
    }
}

void *malloc(size_t size) {
    resolve();
    if (!real_malloc) return arena_alloc(size, 16);
    count_alloc(__builtin_return_address(0));
    return real_malloc(size);
}

void *calloc(size_t n, size_t size) {
    resolve();
    if (!real_calloc) {
        if (size && n > SIZE_MAX / size) return NULL;
        return arena_alloc(n * size, 16);
    }
    count_alloc(__builtin_return_address(0));
    return real_calloc(n, size);
}

void *realloc(void *p, size_t size) {
    resolve();
    if (in_arena(p) || !real_realloc) {
        void *q = real_malloc ? real_malloc(size) : arena_alloc(size, 16);
        if (q && p) {
            size_t avail = (size_t)(arena + sizeof arena - (unsigned char *)p);
            memcpy(q, p, size < avail ? size : avail);
        }
        if (real_malloc) count_alloc(__builtin_return_address(0));
        return q;
    }
    count_alloc(__builtin_return_address(0));
    if (p) atomic_fetch_add_explicit(&n_reallocs, 1, memory_order_relaxed);
    return real_realloc(p, size);
}

void free(void *p) {
    if (!p || in_arena(p)) return;
    resolve();
    atomic_fetch_add_explicit(&n_frees, 1, memory_order_relaxed);
    real_free(p);
}

int posix_memalign(void **out, size_t align, size_t size) {
    resolve();
    if (!real_posix_memalign) {
        void *p = arena_alloc(size, align);
        if (!p) return ENOMEM;
        *out = p;
        return 0;
    }
    count_alloc(__builtin_return_address(0));
    return real_posix_memalign(out, align, size);
}

void *aligned_alloc(size_t align, size_t size) {
    resolve();
    if (!real_aligned_alloc) return arena_alloc(size, align);
    count_alloc(__builtin_return_address(0));
    return real_aligned_alloc(align, size);
}

void *memalign(size_t align, size_t size) {
    resolve();
    if (!real_memalign) return arena_alloc(size, align);
    count_alloc(__builtin_return_address(0));
    return real_memalign(align, size);
}

void *valloc(size_t size) {
    resolve();
    if (!real_valloc) return arena_alloc(size, 4096);
    count_alloc(__builtin_return_address(0));
    return real_valloc(size);
}

void *pvalloc(size_t size) {
    resolve();
    if (!real_pvalloc) return arena_alloc(size, 4096);
    count_alloc(__builtin_return_address(0));
    return real_pvalloc(size);
}

/* Reporter thread. */
static int out_fd = -1;

static void write_line(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char buf[128];
    int len = snprintf(buf, sizeof buf, "%llu %llu %llu %llu %llu\n",
                       (unsigned long long)ts.tv_sec * 1000000000ULL + (unsigned long long)ts.tv_nsec,
                       atomic_load_explicit(&n_allocs, memory_order_relaxed),
                       atomic_load_explicit(&n_frees, memory_order_relaxed),
                       atomic_load_explicit(&n_curl_allocs, memory_order_relaxed),
                       atomic_load_explicit(&n_reallocs, memory_order_relaxed));
    if (len > 0 && write(out_fd, buf, (size_t)len) < 0) { /* nothing useful to do */ }
}

static void *reporter(void *arg) {
    (void)arg;
    const struct timespec period = {0, 200 * 1000 * 1000};
    for (;;) {
        write_line();
        nanosleep(&period, NULL);
    }
    return NULL;
}

__attribute__((constructor)) static void malloc_count_init(void) {
    resolve();
    dl_iterate_phdr(find_curl, NULL);
    const char *path = getenv("MALLOC_COUNT_FILE");
    if (!path || !*path) return;
    out_fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out_fd < 0) return;
    pthread_t t;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, reporter, NULL) != 0) {
        close(out_fd);
        out_fd = -1;
    }
    pthread_attr_destroy(&attr);
}

__attribute__((destructor)) static void malloc_count_fini(void) {
    if (out_fd >= 0) write_line();
}
