/* api_drain_load.h — SIGTERM under a bounded POST load, and what each side saw (api_drain.c,
 * attack_drain.c).
 *
 * Client threads POST /tasks on kept-alive connections, each request with its own X-Request-Id;
 * the server is stopped with SIGTERM while they run, and its log (one line per answer, with
 * request_id and status) is then read back and set against what every client saw. */
#ifndef TASKD_API_DRAIN_LOAD_H
#define TASKD_API_DRAIN_LOAD_H

#define DRAIN_LOADERS_MAX 16

struct drain_load {
    long answered;  /* 201s that reached their client */
    long refused;   /* requests whose connection was refused (the server had stopped accepting) */
    long unread;    /* connection reset before the server read the request (not in its log) */
    long dropped;   /* the server logged an answer its client never got: must be 0 */
    long exhausted; /* clients that ran out of requests before SIGTERM: must be 0, or the test
                     * did not load the drain it claims to */
    long stop_ms;   /* from SIGTERM to the process's exit */
    int status;     /* the server's exit status */
    char first_drop[160];
};

/* Starts a private server, runs `loaders` (≤ DRAIN_LOADERS_MAX) client threads for load_ms, then
 * stops it with SIGTERM while they keep going, and fills *out. Every client runs until the
 * stopped server refuses it, bounded (5000 requests a client, 20 s). */
void drain_under_load(int loaders, long load_ms, struct drain_load *out);

#endif
