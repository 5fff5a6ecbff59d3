/* deploy_restart.c — `systemctl restart taskd` on the real server while clients write.
 *
 * Issue 12: a restart under load loses no acknowledged write. Four client threads POST /tasks
 * through the server's public port, each request with an X-Request-Id of its own; the test
 * restarts the unit while they run and lets them go on against the new process. Then three
 * views are set against each other:
 *   - what each client saw (a 201, another status, a refused connection, no answer at all);
 *   - what taskd logged to the journal for that request id (the status it answered);
 *   - what the new process serves (GET /tasks/{id} of every 201).
 * A 201 that cannot be read back is a lost write. A request the journal shows answered whose
 * client saw no answer is a dropped response: the client cannot tell it from a failure, and
 * its retry would write the task twice (issue 11, item 4, now under systemd's stop sequence).
 * Refused connections are expected while no process listens; they are counted, not failed.
 *
 * Bounded: 600 requests a client, one every 25 ms at most, 30 s; loopback only. */
#include <criterion/criterion.h>
#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "deploy_support.h"
#include "testkit.h"

#define LOADERS    4
#define PER_LOADER 600
#define LOAD_MS    30000
/* Each client paces itself, so the bound above lasts about 15 s: unpaced, four clients sent
 * all their requests within the 1.5 s before the restart, and none was left for after it. */
#define PACE_MS 25

enum outcome { NOT_SENT, ANSWERED, OTHER_STATUS, REFUSED, NO_ANSWER };

struct loader {
    const char *url, *auth, *tag;
    int index;
    atomic_bool *stop;
    atomic_int *phase; /* 0 before the restart, 1 during, 2 after */
    enum outcome out[PER_LOADER];
    long status[PER_LOADER];
    long long id[PER_LOADER];
    int phase_of[PER_LOADER];
};

/* One client: POSTs until told to stop or its bound is reached. No cr_assert here (a thread
 * must not fail the test): everything is recorded and judged by the test afterwards. */
static void *load(void *arg)
{
    struct loader *l = arg;
    CURL *curl = curl_easy_init();
    if (!curl)
        return NULL;
    long until = tk_now_ms() + LOAD_MS;
    for (int i = 0; i < PER_LOADER && !atomic_load(l->stop) && tk_now_ms() < until; i++) {
        char rid[128], json[160];
        snprintf(rid, sizeof rid, "X-Request-Id: %s-%d-%d", l->tag, l->index, i);
        snprintf(json, sizeof json, "{\"title\":\"%s %d %d\"}", l->tag, l->index, i);
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        h = curl_slist_append(h, rid);
        h = curl_slist_append(h, l->auth);
        struct buf body = BUF_INIT;
        tk_curl_collect(curl, l->url, h, &body, NULL);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json);
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
        l->phase_of[i] = atomic_load(l->phase);
        CURLcode rc = curl_easy_perform(curl);
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(h);
        l->status[i] = status;
        if (rc == CURLE_COULDNT_CONNECT) {
            l->out[i] = REFUSED; /* nothing listens yet: the next request tries again */
        } else if (rc != CURLE_OK) {
            l->out[i] = NO_ANSWER;
        } else if (status == 201) {
            const char *idp = body.data ? strstr(body.data, "\"id\":") : NULL;
            l->out[i] = ANSWERED;
            l->id[i] = idp ? strtoll(idp + 5, NULL, 10) : 0;
        } else {
            l->out[i] = OTHER_STATUS;
        }
        buf_free(&body);
        tk_sleep_ms(PACE_MS);
    }
    curl_easy_cleanup(curl);
    return NULL;
}

/* The journal's status for each request id of this run ("TAG-T-I STATUS" lines, made by jq on
 * the server), into logged[T][I]; 0 where taskd logged nothing. */
static void read_journal(const char *tag, long logged[LOADERS][PER_LOADER])
{
    size_t cap = 256 * 1024;
    char *out = malloc(cap);
    cr_assert(out, "out of memory");
    int rc = dp_remote(out, cap,
                       "journalctl -u taskd.service -o cat --no-pager --since '-10min' | "
                       "grep -F -- '%s-' | jq -R -r 'fromjson? | select(.request_id? // \"\" | "
                       "startswith(\"%s-\")) | \"\\(.request_id) \\(.status)\"'",
                       tag, tag);
    cr_assert_eq(rc, 0, "reading the journal failed (exit %d): %.400s", rc, out);
    size_t taglen = strlen(tag);
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        int t = -1, i = -1;
        long st = 0;
        if (strncmp(line, tag, taglen) != 0 ||
            sscanf(line + taglen, "-%d-%d %ld", &t, &i, &st) != 3)
            continue;
        if (t >= 0 && t < LOADERS && i >= 0 && i < PER_LOADER)
            logged[t][i] = st;
    }
    free(out);
}

GRADED(server, restart_under_load_loses_no_acknowledged_write, 4, .timeout = 600)
{
    dp_need_server();
    dp_ensure_deployed();
    char token[2048], auth[2200], port[32], url[128], tag[96], pid[64], after[64], out[4096];
    dp_login(token, sizeof token);
    snprintf(auth, sizeof auth, "Authorization: Bearer %s", token);
    int rc = dp_sh(port, sizeof port, "set -a && . '%s' && printf %%s \"$SERVER_HTTP_PORT\"",
                   dp_env("SERVER_ENV"));
    cr_assert(rc == 0 && atoi(port) > 0, "no SERVER_HTTP_PORT in %s", dp_env("SERVER_ENV"));
    snprintf(url, sizeof url, "http://127.0.0.1:%s/tasks", port);
    tk_unique("rst", tag, sizeof tag);
    dp_unit_prop("taskd.service", "MainPID", pid, sizeof pid);

    static struct loader l[LOADERS];
    static long logged[LOADERS][PER_LOADER];
    memset(l, 0, sizeof l);
    memset(logged, 0, sizeof logged);
    atomic_bool stop = false;
    atomic_int phase = 0;
    pthread_t t[LOADERS];
    for (int i = 0; i < LOADERS; i++) {
        l[i] = (struct loader){
            .url = url, .auth = auth, .tag = tag, .index = i, .stop = &stop, .phase = &phase};
        cr_assert(pthread_create(&t[i], NULL, load, &l[i]) == 0, "pthread_create failed");
    }
    tk_sleep_ms(1500);
    atomic_store(&phase, 1);
    long start = tk_now_ms();
    rc = dp_remote(out, sizeof out, "systemctl restart taskd.service");
    long restart_ms = tk_now_ms() - start;
    atomic_store(&phase, 2);
    tk_sleep_ms(1500);
    atomic_store(&stop, true);
    for (int i = 0; i < LOADERS; i++)
        pthread_join(t[i], NULL);
    cr_assert_eq(rc, 0, "expected `systemctl restart taskd.service` to succeed; exit %d: %s", rc,
                 out);
    dp_unit_prop("taskd.service", "MainPID", after, sizeof after);
    cr_expect_neq(strcmp(pid, after), 0, "expected a new main PID after the restart (was %s)", pid);

    read_journal(tag, logged);
    long answered[3] = {0}, refused = 0, unread = 0, other = 0, dropped = 0, lost = 0;
    char first_drop[200] = "", first_lost[200] = "", first_other[200] = "";
    for (int c = 0; c < LOADERS; c++) {
        for (int i = 0; i < PER_LOADER; i++) {
            enum outcome o = l[c].out[i];
            if (o == NOT_SENT)
                continue;
            refused += o == REFUSED;
            unread += o == NO_ANSWER && logged[c][i] == 0;
            if (o == OTHER_STATUS && !first_other[0])
                snprintf(first_other, sizeof first_other, "%s-%d-%d answered %ld", tag, c, i,
                         l[c].status[i]);
            other += o == OTHER_STATUS;
            bool drop =
                (logged[c][i] == 201 && o != ANSWERED) || (o == NO_ANSWER && logged[c][i] != 0);
            if (drop && !first_drop[0])
                snprintf(first_drop, sizeof first_drop,
                         "%s-%d-%d: the journal says %ld, the client saw %s", tag, c, i,
                         logged[c][i], o == NO_ANSWER ? "no answer" : "another outcome");
            dropped += drop;
            if (o != ANSWERED)
                continue;
            answered[l[c].phase_of[i]]++;
            char path[64];
            snprintf(path, sizeof path, "/tasks/%lld", l[c].id[i]);
            long st = dp_http("GET", path, token, NULL, out, sizeof out);
            if (st != 200 && !first_lost[0])
                snprintf(first_lost, sizeof first_lost, "%s-%d-%d (task %lld): GET answers %ld",
                         tag, c, i, l[c].id[i], st);
            lost += st != 200;
        }
    }
    printf("figure: systemctl restart under %d POST clients took %ld ms: %ld answered before, %ld "
           "during, %ld after; %ld refused, %ld reset unread, %ld other statuses, %ld dropped, %ld "
           "lost\n",
           LOADERS, restart_ms, answered[0], answered[1], answered[2], refused, unread, other,
           dropped, lost);
    fflush(stdout);
    cr_expect(answered[0] > 0 && answered[2] > 0,
              "expected writes answered both before and after the restart (the load must span "
              "it); got %ld before, %ld after",
              answered[0], answered[2]);
    cr_expect_eq(lost, 0, "%ld writes answered 201 are gone after the restart, e.g. %s", lost,
                 first_lost);
    cr_expect_eq(dropped, 0,
                 "%ld answers taskd logged never reached their client, e.g. %s (a client cannot "
                 "tell that from a failure: its retry writes twice)",
                 dropped, first_drop);
    cr_expect_eq(other, 0,
                 "expected only 201s and refused connections; %ld requests got another status, "
                 "e.g. %s",
                 other, first_other);
}
