/* api_attack.h — what the attack suite's files share (weeks/NN/tests/attack_*.c; test kit only).
 *
 * An attack is a table of hostile requests, each of which must be refused in a stated way. A
 * graded test stops at its first failed assertion; an attack instead runs the whole table, keeps
 * a tally (how many were tried, how many got through and how, the slowest answer) and fails once
 * at the end naming every one that got through, after printing its "figure: " line for
 * shared/scripts/run-attacks.sh. Latency bounds are never absolute: the machine is shared, so a
 * bound is a multiple of a baseline the attack measures on the same server in the same run. */
#ifndef TASKD_API_ATTACK_H
#define TASKD_API_ATTACK_H

#include <stdbool.h>
#include <stddef.h>

#include "testkit.h"

#define API_ATTACK_NOTES 4096 /* bytes of failure notes kept; later ones are counted only */

struct api_attack_tally {
    const char *name; /* "framing", printed in the figure and the failure */
    long tried, refused, got_through;
    long server_errors; /* 5xx answers */
    long hangs;         /* no answer, or no close, within the bound */
    long slowest_ms;
    char notes[API_ATTACK_NOTES];
    size_t notes_len;
};

/* A fresh tally called name. */
void api_attack_begin(struct api_attack_tally *t, const char *name);
/* Counts one attack tried and, when it got through, keeps a note of how (printf format). */
void api_attack_result(struct api_attack_tally *t, bool refused, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records how long the answer took. */
void api_attack_took(struct api_attack_tally *t, long ms);
/* Fails the test naming every attack that got through (after the caller printed its figures). */
void api_attack_end(struct api_attack_tally *t);
/* Prints "figure: <text>" on its own line for run-attacks.sh (printf format). */
void api_attack_figure(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The median time (ms, at least 1) of 5 GET /health on raw connections to s: what "prompt"
 * is measured against. */
long api_attack_baseline_ms(struct tk_server *s);
/* A generous bound for an answer that must be prompt: well above any load on the machine and
 * well below the server's idle timeout (a request that hangs until the timeout exceeds it). */
long api_attack_bound_ms(long baseline_ms);

/* What came back on one raw connection. */
struct api_attack_answer {
    char *bytes; /* everything the server sent, NUL-terminated (malloc'd) */
    size_t len;
    bool closed;     /* the server closed the connection within the bound (and before a whole
                      * response, when the exchange stopped there) */
    long status;     /* of the first response; 0 when none */
    int responses;   /* how many responses came back, read by their Content-Length */
    size_t trailing; /* bytes after the last response that do not start another one */
    long elapsed_ms; /* until the close (until_close), else until the first byte of the answer */
};

/* Connects to s, sends len bytes of request (as far as the server reads them: it may close
 * early), then reads until the server closes (until_close) or has sent one whole response, or
 * bound_ms passes. */
void api_attack_exchange(struct tk_server *s, const char *request, size_t len, long bound_ms,
                         bool until_close, struct api_attack_answer *a);
void api_attack_answer_free(struct api_attack_answer *a);

#endif
