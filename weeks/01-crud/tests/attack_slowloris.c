/* attack_slowloris.c — the slowloris attack that issue 11 found, run as a permanent attack.
 *
 * 60 slow clients (from 127.0.0.2) dribble request heads, one header line every 500 ms, against
 * a server with HTTP_MAX_CONNECTIONS=50 and the default deadlines, for a bounded 14 s (past the
 * 10 s header deadline); a client the server closes reconnects, as an attacker would. Meanwhile
 * /health is probed from 127.0.0.1. Before: /health went unanswered for 30 s and more. Its p99
 * under attack must stay within a generous multiple of the p99 measured just before, on the same
 * machine in the same run. Loopback only. */
#include <stdio.h>
#include <stdlib.h>

#include "api_slow_clients.h"
#include "testkit.h"

#define SLOW_CLIENTS 60
#define ATTACK_MS    14000
#define PROBES_MAX   1000

static int cmp_long(const void *a, const void *b)
{
    long x = *(const long *)a, y = *(const long *)b;
    return (x > y) - (x < y);
}

static long p99(long *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_long);
    return n ? v[(n * 99 + 99) / 100 - 1] : 0;
}

Test(slowloris, sixty_slow_clients_leave_health_answering, .timeout = 60)
{
    struct tk_server *s = tk_server_start((const char *const[]){"HTTP_MAX_CONNECTIONS=50", NULL});
    cr_assert(s, "the server did not start");
    static long base[50], attack[PROBES_MAX];
    for (size_t i = 0; i < 50; i++) {
        base[i] = slow_health_ms(s, 5000);
        cr_assert(base[i] >= 0, "/health did not answer before the attack");
    }
    long base_p99 = p99(base, 50);

    struct slow_pool *pool = slow_pool_new(s, "127.0.0.2", SLOW_CLIENTS);
    size_t n = 0, unanswered = 0;
    long start = tk_now_ms(), next_tick = start;
    while (tk_now_ms() - start < ATTACK_MS && n < PROBES_MAX) {
        if (tk_now_ms() >= next_tick) {
            slow_pool_tick(pool);
            next_tick += 500;
        }
        long ms = slow_health_ms(s, 5000);
        if (ms < 0)
            unanswered++;
        else
            attack[n++] = ms;
        tk_sleep_ms(20);
    }
    size_t closed = slow_pool_closed(pool), refused = slow_pool_refused(pool);
    long life_min = 0, life_max = 0;
    slow_pool_lifetimes(pool, &life_min, &life_max);
    slow_pool_free(pool);
    long attack_p99 = p99(attack, n);
    printf("figure: %d slow clients vs HTTP_MAX_CONNECTIONS=50 for %d s: /health p99 %ld ms "
           "(baseline p99 %ld ms), %zu probes, %zu unanswered; %zu slow heads closed after "
           "%ld-%ld ms, %zu connections over the per-address cap refused\n",
           SLOW_CLIENTS, ATTACK_MS / 1000, attack_p99, base_p99, n, unanswered, closed, life_min,
           life_max, refused);
    fflush(stdout);
    cr_assert_eq(unanswered, 0, "%zu /health probes got no answer within 5 s", unanswered);
    long bound = 50 * base_p99 > 1000 ? 50 * base_p99 : 1000;
    cr_assert(attack_p99 <= bound, "/health p99 %ld ms under attack, baseline %ld ms (bound %ld)",
              attack_p99, base_p99, bound);
    cr_assert(closed > 0, "no slow head was closed in %d s (header deadline 10 s)",
              ATTACK_MS / 1000);
    cr_assert_eq(tk_server_stop(s), 0, "the server did not stop cleanly");
}
