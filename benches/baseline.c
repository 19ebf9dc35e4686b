/* The C counterpart that benches/compare.sh runs beside racecount: the least a fork-per-trial
 * race on one shared counter costs in C, written plainly.
 *
 *   cc -O2 -o baseline benches/baseline.c -lpthread               # plain process-shared mutex
 *   cc -O2 -DROBUST -o baseline_robust benches/baseline.c -lpthread  # robust, as racecount's
 *   ./baseline MODE PROCS ITERS TRIALS WINDOW_NS                   # WINDOW_NS -1: sched_yield
 *
 * MODE is unlocked, per-access, mutex or atomic, as in racecount. Per trial: reset the counter,
 * fork PROCS children that block on a pipe, close the pipe so that they all start at once, let
 * each do ITERS increments (read, hold the window, write), reap them all, read the counter.
 * Prints one line, which benches/compare.py parses:
 *   MODE procs=P iters=I trials=T window_ns=W: total min=A mean=B max=C of E,
 *   trials with loss L/T, X ms/trial, Y ns/increment
 * ms/trial is from the first fork to the last reap; ns/increment from opening the gate to the
 * last reap, divided by PROCS * ITERS * TRIALS.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum mode { UNLOCKED, PER_ACCESS, MUTEX, ATOMIC };
static const char *const MODE_NAMES[] = {"unlocked", "per-access", "mutex", "atomic"};

/* The counter and the lock each on their own cache line, as in racecount's page. */
struct shared {
    _Alignas(64) _Atomic uint64_t counter;
    _Alignas(64) pthread_mutex_t lock;
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

static inline void take(pthread_mutex_t *m) {
#ifdef ROBUST
    /* A dead holder hands us EOWNERDEAD: mark the lock usable again and go on. */
    if (pthread_mutex_lock(m) == EOWNERDEAD)
        pthread_mutex_consistent(m);
#else
    pthread_mutex_lock(m);
#endif
}

static inline uint64_t load(struct shared *s) {
    return atomic_load_explicit(&s->counter, memory_order_relaxed);
}

static inline void store(struct shared *s, uint64_t v) {
    atomic_store_explicit(&s->counter, v, memory_order_relaxed);
}

/* One loop per mode, so that no mode pays for a branch on the others. */
static void increment(struct shared *s, enum mode mode, long iters, long window_ns) {
    long k;
    uint64_t v;
    switch (mode) {
    case UNLOCKED:
        for (k = 0; k < iters; k++) {
            v = load(s);
            race_window(window_ns);
            store(s, v + 1);
        }
        break;
    case PER_ACCESS:
        for (k = 0; k < iters; k++) {
            take(&s->lock);
            v = load(s);
            pthread_mutex_unlock(&s->lock);
            race_window(window_ns);
            take(&s->lock);
            store(s, v + 1);
            pthread_mutex_unlock(&s->lock);
        }
        break;
    case MUTEX:
        for (k = 0; k < iters; k++) {
            take(&s->lock);
            v = load(s);
            race_window(window_ns);
            store(s, v + 1);
            pthread_mutex_unlock(&s->lock);
        }
        break;
    case ATOMIC:
        for (k = 0; k < iters; k++) {
            race_window(window_ns);
            atomic_fetch_add_explicit(&s->counter, 1, memory_order_relaxed);
        }
        break;
    }
}

static int usage(const char *why) {
    fprintf(stderr, "baseline: %s\nusage: baseline MODE PROCS ITERS TRIALS WINDOW_NS\n", why);
    return 2;
}

int main(int argc, char **argv) {
    if (argc != 6)
        return usage("five arguments expected");
    int mode = -1;
    for (int m = UNLOCKED; m <= ATOMIC; m++)
        if (strcmp(argv[1], MODE_NAMES[m]) == 0)
            mode = m;
    long procs = strtol(argv[2], NULL, 10), iters = strtol(argv[3], NULL, 10);
    long trials = strtol(argv[4], NULL, 10), window_ns = strtol(argv[5], NULL, 10);
    if (mode < 0)
        return usage("MODE is unlocked, per-access, mutex or atomic");
    if (procs < 1 || iters < 1 || trials < 1)
        return usage("PROCS, ITERS and TRIALS must be at least 1");

    struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                            -1, 0);
    if (s == MAP_FAILED) {
        perror("baseline: mmap");
        return 1;
    }
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
#ifdef ROBUST
    pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
#endif
    pthread_mutex_init(&s->lock, &attr);

    const uint64_t expected = (uint64_t)procs * (uint64_t)iters;
    uint64_t lowest = UINT64_MAX, highest = 0, sum = 0, trial_ns = 0, race_ns = 0;
    long lossy = 0;
    fflush(stdout); /* nothing buffered may be copied into the children */
    for (long t = 0; t < trials; t++) {
        store(s, 0);
        int gate[2];
        if (pipe(gate) != 0) {
            perror("baseline: pipe");
            return 1;
        }
        uint64_t forking = clock_ns();
        for (long i = 0; i < procs; i++) {
            pid_t pid = fork();
            if (pid < 0) {
                perror("baseline: fork");
                return 1;
            }
            if (pid == 0) {
                char byte;
                close(gate[1]);
                /* Blocks until the parent closes its end: read then returns 0. */
                while (read(gate[0], &byte, 1) < 0 && errno == EINTR)
                    ;
                increment(s, (enum mode)mode, iters, window_ns);
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
           MODE_NAMES[mode], procs, iters, trials, window_ns, lowest, (double)sum / trials,
           highest, expected, lossy, trials, trial_ns / 1e6 / trials,
           (double)race_ns / ((double)expected * trials));
    return 0;
}
