/* The C counterparts of racecount's --lock kinds, for benches/compare.sh: mutex mode (the lock
 * held across read and write), fork per trial, written plainly.
 *
 *   cc -O2 -o locks benches/locks.c -lpthread
 *   ./locks KIND PROCS ITERS TRIALS WINDOW_NS      # WINDOW_NS -1: sched_yield
 *
 * KIND is pthread, sem, spin, ticket, peterson, bakery, peterson-nofence or bakery-nofence. The
 * state sits in one MAP_SHARED mapping, each field on its own 128-byte line, the bakery's arrays
 * packed, as in racecount's page. Waiters wait as racecount's do: spin and peterson spin with a
 * pause instruction and yield the CPU every 64 rounds; the fair locks (ticket, bakery) spin 64
 * rounds, then sleep on a futex, and each release wakes exactly the next holder (the ticket's
 * waiters sleep on `serving` with their ticket's bit, each bakery worker on its own park word).
 * Prints the same line as baseline.c, which compare.py parses:
 *   KIND procs=P iters=I trials=T window_ns=W: total min=A mean=B max=C of E,
 *   trials with loss L/T, X ms/trial, Y ns/increment
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum kind { PTHREAD, SEM, SPIN, TICKET, PETERSON, BAKERY, PETERSON_NOFENCE, BAKERY_NOFENCE };
static const char *const KIND_NAMES[] = {"pthread", "sem", "spin", "ticket", "peterson",
                                         "bakery", "peterson-nofence", "bakery-nofence"};

#define MAX_PROCS 256
#define SPINS 64

struct shared {
    _Alignas(128) _Atomic uint64_t counter;
    _Alignas(128) pthread_mutex_t mutex;
    _Alignas(128) sem_t sem;
    _Alignas(128) _Atomic uint32_t spin;
    _Alignas(128) struct {
        _Atomic uint32_t next, serving, sleepers;
    } ticket;
    _Alignas(128) struct {
        _Atomic uint32_t flag[2], turn;
    } peterson;
    _Alignas(128) _Atomic uint32_t choosing[MAX_PROCS];
    _Alignas(128) _Atomic uint64_t number[MAX_PROCS];
    _Alignas(128) _Atomic uint32_t parked[MAX_PROCS];
};

static uint64_t clock_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void race_window(long ns) {
    if (ns == 0)
        return;
    if (ns < 0) {
        sched_yield();
        return;
    }
    uint64_t until = clock_ns() + (uint64_t)ns;
    while (clock_ns() < until)
        ;
}

static inline void relax(unsigned *spins) {
    if (*spins < SPINS) {
        ++*spins;
        __builtin_ia32_pause();
    } else {
        *spins = 0;
        sched_yield();
    }
}

static inline void spin_lock(_Atomic uint32_t *word) {
    unsigned spins = 0;
    while (atomic_exchange_explicit(word, 1, memory_order_acquire) != 0)
        while (atomic_load_explicit(word, memory_order_relaxed) != 0)
            relax(&spins);
}

/* Shared (not PRIVATE) futex calls: the waiters and wakers are different processes. */
static inline void futex_wait(_Atomic uint32_t *word, uint32_t expected, uint32_t bits) {
    syscall(SYS_futex, word, FUTEX_WAIT_BITSET, expected, NULL, NULL, bits);
}

static inline void futex_wake(_Atomic uint32_t *word, int count, uint32_t bits) {
    syscall(SYS_futex, word, FUTEX_WAKE_BITSET, count, NULL, NULL, bits);
}

/* A ticket's waiter sleeps with its ticket's bit; a release wakes the next ticket's bit only. */
static inline uint32_t ticket_bits(uint32_t t) { return 1u << (t % 32); }

static inline void ticket_lock(struct shared *s) {
    uint32_t mine = atomic_fetch_add_explicit(&s->ticket.next, 1, memory_order_relaxed);
    unsigned spins = 0;
    while (atomic_load_explicit(&s->ticket.serving, memory_order_acquire) != mine) {
        if (spins < SPINS) {
            ++spins;
            __builtin_ia32_pause();
            continue;
        }
        atomic_fetch_add_explicit(&s->ticket.sleepers, 1, memory_order_seq_cst);
        uint32_t now = atomic_load_explicit(&s->ticket.serving, memory_order_seq_cst);
        if (now != mine)
            futex_wait(&s->ticket.serving, now, ticket_bits(mine));
        atomic_fetch_sub_explicit(&s->ticket.sleepers, 1, memory_order_relaxed);
    }
}

static inline void ticket_unlock(struct shared *s) {
    uint32_t next = atomic_load_explicit(&s->ticket.serving, memory_order_relaxed) + 1;
    atomic_store_explicit(&s->ticket.serving, next, memory_order_seq_cst);
    if (atomic_load_explicit(&s->ticket.sleepers, memory_order_seq_cst) != 0)
        futex_wake(&s->ticket.serving, INT32_MAX, ticket_bits(next));
}

#define RUNNING 0u
#define PARKED 1u

/* Whether bakery worker j, showing `theirs`, goes before worker `me` holding `mine`. */
static inline int ahead(uint64_t theirs, long j, uint64_t mine, long me) {
    return theirs != 0 && (theirs < mine || (theirs == mine && j < me));
}

/* Peterson's and the bakery's entry, once with every access sequentially consistent (SC) and
 * once with release stores and acquire loads (NOFENCE). The orders must be constants: GCC
 * treats a memory order it cannot see at compile time as seq_cst. */
#define PETERSON_LOCK(NAME, ST, LD)                                                            \
    static inline void NAME(struct shared *s, int me) {                                        \
        int other = 1 - me;                                                                    \
        atomic_store_explicit(&s->peterson.flag[me], 1, ST);                                   \
        atomic_store_explicit(&s->peterson.turn, (uint32_t)other, ST);                         \
        unsigned spins = 0;                                                                    \
        while (atomic_load_explicit(&s->peterson.flag[other], LD) != 0 &&                      \
               atomic_load_explicit(&s->peterson.turn, LD) == (uint32_t)other)                 \
            relax(&spins);                                                                     \
    }
PETERSON_LOCK(peterson_lock_sc, memory_order_seq_cst, memory_order_seq_cst)
PETERSON_LOCK(peterson_lock_nofence, memory_order_release, memory_order_acquire)

#define BAKERY_LOCK(NAME, ST, LD)                                                              \
    static inline void NAME(struct shared *s, long me, long procs) {                           \
        atomic_store_explicit(&s->choosing[me], 1, ST);                                        \
        uint64_t highest = 0;                                                                  \
        for (long j = 0; j < procs; j++) {                                                     \
            uint64_t n = atomic_load_explicit(&s->number[j], LD);                              \
            highest = n > highest ? n : highest;                                               \
        }                                                                                      \
        uint64_t mine = highest + 1;                                                           \
        atomic_store_explicit(&s->number[me], mine, ST);                                       \
        atomic_store_explicit(&s->choosing[me], 0, ST);                                        \
        for (long j = 0; j < procs; j++) {                                                     \
            if (j == me)                                                                       \
                continue;                                                                      \
            unsigned spins = 0;                                                                \
            while (atomic_load_explicit(&s->choosing[j], LD) != 0)                             \
                relax(&spins);                                                                 \
            spins = 0;                                                                         \
            while (ahead(atomic_load_explicit(&s->number[j], LD), j, mine, me)) {              \
                if (spins < SPINS) {                                                           \
                    ++spins;                                                                   \
                    __builtin_ia32_pause();                                                    \
                    continue;                                                                  \
                }                                                                              \
                atomic_store_explicit(&s->parked[me], PARKED, memory_order_seq_cst);           \
                if (ahead(atomic_load_explicit(&s->number[j], memory_order_seq_cst), j, mine,  \
                          me))                                                                 \
                    futex_wait(&s->parked[me], PARKED, FUTEX_BITSET_MATCH_ANY);                \
                atomic_store_explicit(&s->parked[me], RUNNING, memory_order_relaxed);          \
            }                                                                                  \
        }                                                                                      \
    }
BAKERY_LOCK(bakery_lock_sc, memory_order_seq_cst, memory_order_seq_cst)
BAKERY_LOCK(bakery_lock_nofence, memory_order_release, memory_order_acquire)

/* Clears this worker's number, then wakes the next holder (the smallest (number, index) still
 * showing) if it is parked. */
static inline void bakery_unlock(struct shared *s, long me, long procs, int fence) {
    if (fence) {
        atomic_store_explicit(&s->number[me], 0, memory_order_seq_cst);
    } else {
        atomic_store_explicit(&s->number[me], 0, memory_order_release);
        atomic_thread_fence(memory_order_seq_cst);
    }
    long next = -1;
    uint64_t best = 0;
    for (long k = 0; k < procs; k++) {
        uint64_t theirs = atomic_load_explicit(&s->number[k], memory_order_seq_cst);
        if (theirs != 0 && (next < 0 || theirs < best)) {
            next = k;
            best = theirs;
        }
    }
    if (next >= 0 &&
        atomic_exchange_explicit(&s->parked[next], RUNNING, memory_order_seq_cst) == PARKED)
        futex_wake(&s->parked[next], 1, FUTEX_BITSET_MATCH_ANY);
}

static inline uint64_t load(struct shared *s) {
    return atomic_load_explicit(&s->counter, memory_order_relaxed);
}

static inline void store(struct shared *s, uint64_t v) {
    atomic_store_explicit(&s->counter, v, memory_order_relaxed);
}

/* One loop per kind, so that no kind pays for a branch on the others. */
#define LOOP(TAKE, RELEASE)                                                                    \
    for (long k = 0; k < iters; k++) {                                                         \
        TAKE;                                                                                  \
        uint64_t v = load(s);                                                                  \
        race_window(window_ns);                                                                \
        store(s, v + 1);                                                                       \
        RELEASE;                                                                               \
    }

static void increment(struct shared *s, enum kind kind, long me, long procs, long iters,
                      long window_ns) {
    switch (kind) {
    case PTHREAD:
        LOOP(pthread_mutex_lock(&s->mutex), pthread_mutex_unlock(&s->mutex));
        break;
    case SEM:
        LOOP(while (sem_wait(&s->sem) != 0 && errno == EINTR), sem_post(&s->sem));
        break;
    case SPIN:
        LOOP(spin_lock(&s->spin), atomic_store_explicit(&s->spin, 0, memory_order_release));
        break;
    case TICKET:
        LOOP(ticket_lock(s), ticket_unlock(s));
        break;
    case PETERSON:
        LOOP(peterson_lock_sc(s, (int)me),
             atomic_store_explicit(&s->peterson.flag[me], 0, memory_order_release));
        break;
    case PETERSON_NOFENCE:
        LOOP(peterson_lock_nofence(s, (int)me),
             atomic_store_explicit(&s->peterson.flag[me], 0, memory_order_release));
        break;
    case BAKERY:
        LOOP(bakery_lock_sc(s, me, procs), bakery_unlock(s, me, procs, 1));
        break;
    case BAKERY_NOFENCE:
        LOOP(bakery_lock_nofence(s, me, procs), bakery_unlock(s, me, procs, 0));
        break;
    }
}

static int usage(const char *why) {
    fprintf(stderr, "locks: %s\nusage: locks KIND PROCS ITERS TRIALS WINDOW_NS\n", why);
    return 2;
}

int main(int argc, char **argv) {
    if (argc != 6)
        return usage("five arguments expected");
    int kind = -1;
    for (int k = PTHREAD; k <= BAKERY_NOFENCE; k++)
        if (strcmp(argv[1], KIND_NAMES[k]) == 0)
            kind = k;
    long procs = strtol(argv[2], NULL, 10), iters = strtol(argv[3], NULL, 10);
    long trials = strtol(argv[4], NULL, 10), window_ns = strtol(argv[5], NULL, 10);
    if (kind < 0)
        return usage("KIND is pthread, sem, spin, ticket, peterson, bakery or *-nofence");
    if (procs < 1 || procs > MAX_PROCS || iters < 1 || trials < 1)
        return usage("PROCS (at most 256), ITERS and TRIALS must be at least 1");
    if ((kind == PETERSON || kind == PETERSON_NOFENCE) && procs != 2)
        return usage("peterson takes exactly 2 procs");

    struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                            -1, 0);
    if (s == MAP_FAILED) {
        perror("locks: mmap");
        return 1;
    }
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
    pthread_mutex_init(&s->mutex, &attr);
    sem_init(&s->sem, 1, 1);

    const uint64_t expected = (uint64_t)procs * (uint64_t)iters;
    uint64_t lowest = UINT64_MAX, highest = 0, sum = 0, trial_ns = 0, race_ns = 0;
    long lossy = 0;
    fflush(stdout); /* nothing buffered may be copied into the children */
    for (long t = 0; t < trials; t++) {
        store(s, 0);
        int gate[2];
        if (pipe(gate) != 0) {
            perror("locks: pipe");
            return 1;
        }
        uint64_t forking = clock_ns();
        for (long i = 0; i < procs; i++) {
            pid_t pid = fork();
            if (pid < 0) {
                perror("locks: fork");
                return 1;
            }
            if (pid == 0) {
                char byte;
                close(gate[1]);
                while (read(gate[0], &byte, 1) < 0 && errno == EINTR)
                    ;
                increment(s, (enum kind)kind, i, procs, iters, window_ns);
                _exit(0);
            }
        }
        close(gate[0]);
        uint64_t released = clock_ns();
        close(gate[1]);
        for (long i = 0; i < procs; i++)
            while (wait(NULL) < 0 && errno == EINTR)
                ;
        uint64_t reaped = clock_ns();
        trial_ns += reaped - forking;
        race_ns += reaped - released;
        uint64_t total = load(s);
        sum += total;
        lowest = total < lowest ? total : lowest;
        highest = total > highest ? total : highest;
        lossy += total != expected;
    }
    printf("%s procs=%ld iters=%ld trials=%ld window_ns=%ld: total min=%" PRIu64
           " mean=%.1f max=%" PRIu64 " of %" PRIu64 ", trials with loss %ld/%ld, %.3f ms/trial, "
           "%.2f ns/increment\n",
           KIND_NAMES[kind], procs, iters, trials, window_ns, lowest, (double)sum / trials,
           highest, expected, lossy, trials, trial_ns / 1e6 / trials,
           (double)race_ns / ((double)expected * trials));
    return 0;
}
