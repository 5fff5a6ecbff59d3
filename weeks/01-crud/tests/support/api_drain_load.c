/* api_drain_load.c — SIGTERM under a bounded POST load (see api_drain_load.h). */
#include "api_drain_load.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "testkit.h"

#define PER_LOADER  5000 /* bound on requests per client; far above a 1.5 s run's share */
#define LOAD_MS_MAX 20000

enum outcome { NOT_SENT, ANSWERED, OTHER_STATUS, REFUSED, NO_ANSWER };

struct loader {
    const char *url;
    int index;
    atomic_bool *stopped; /* set once the server has exited */
    bool exhausted;       /* used every slot but the last before the server exited */
    enum outcome out[PER_LOADER];
    long status[PER_LOADER];
};

static void *load(void *arg)
{
    struct loader *l = arg;
    CURL *curl = curl_easy_init();
    if (!curl)
        return NULL;
    long until = tk_now_ms() + LOAD_MS_MAX;
    /* A client runs until its connection is refused: the server has stopped accepting, and the
     * test needs every client to see that. So the stop flag never ends the loop (a client that
     * read it before trying again would never see the refusal), and the last slot is kept for
     * after the server's exit; a client that reaches it early was idle at SIGTERM, which the
     * test reports as its own bug. */
    for (int i = 0; i < PER_LOADER && tk_now_ms() < until; i++) {
        if (i == PER_LOADER - 1 && !atomic_load(l->stopped))
            l->exhausted = true;
        while (i == PER_LOADER - 1 && !atomic_load(l->stopped) && tk_now_ms() < until)
            tk_sleep_ms(5);
        char rid[64], json[96];
        snprintf(rid, sizeof rid, "X-Request-Id: drain-%d-%d", l->index, i);
        snprintf(json, sizeof json, "{\"title\":\"drain %d %d\"}", l->index, i);
        struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
        h = curl_slist_append(h, rid);
        h = tk_curl_auth(h);
        struct buf body = BUF_INIT;
        tk_curl_collect(curl, l->url, h, &body, NULL);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json);
        CURLcode rc = curl_easy_perform(curl);
        long status = 0;
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
        curl_slist_free_all(h);
        buf_free(&body);
        l->status[i] = status;
        if (rc == CURLE_COULDNT_CONNECT) {
            l->out[i] = REFUSED;
            break; /* the server has stopped accepting */
        }
        l->out[i] = rc != CURLE_OK ? NO_ANSWER : status == 201 ? ANSWERED : OTHER_STATUS;
    }
    curl_easy_cleanup(curl);
    return NULL;
}

/* What the server logged for drain-T-I requests: their status, 0 when not logged. */
static void read_logged(FILE *log, long logged[DRAIN_LOADERS_MAX][PER_LOADER])
{
    char line[4096];
    rewind(log);
    while (fgets(line, sizeof line, log)) {
        const char *id = strstr(line, "\"request_id\":\"drain-");
        const char *st = strstr(line, "\"status\":");
        int t = -1, i = -1;
        if (!id || !st || sscanf(id, "\"request_id\":\"drain-%d-%d\"", &t, &i) != 2)
            continue;
        if (t >= 0 && t < DRAIN_LOADERS_MAX && i >= 0 && i < PER_LOADER)
            logged[t][i] = strtol(st + 9, NULL, 10);
    }
}

void drain_under_load(int loaders, long load_ms, struct drain_load *out)
{
    cr_assert(loaders > 0 && loaders <= DRAIN_LOADERS_MAX, "test bug: %d loaders", loaders);
    memset(out, 0, sizeof *out);
    struct tk_server *s = tk_server_start(NULL);
    cr_assert(s, "the server did not start");
    /* The log is removed when the server stops cleanly: an open handle keeps it readable. */
    FILE *log = fopen(tk_server_log_path(s), "r");
    cr_assert(log, "cannot open the server's log: %s", strerror(errno));
    char url[128];
    snprintf(url, sizeof url, "%s/tasks", tk_server_url(s));
    static struct loader l[DRAIN_LOADERS_MAX];
    static long logged[DRAIN_LOADERS_MAX][PER_LOADER];
    memset(l, 0, sizeof l);
    memset(logged, 0, sizeof logged);
    atomic_bool stopped = false;
    pthread_t t[DRAIN_LOADERS_MAX];
    for (int i = 0; i < loaders; i++) {
        l[i] = (struct loader){.url = url, .index = i, .stopped = &stopped};
        cr_assert(pthread_create(&t[i], NULL, load, &l[i]) == 0, "pthread_create failed");
    }
    tk_sleep_ms(load_ms);
    long start = tk_now_ms();
    out->status = tk_server_stop(s);
    out->stop_ms = tk_now_ms() - start;
    atomic_store(&stopped, true);
    for (int i = 0; i < loaders; i++)
        pthread_join(t[i], NULL);
    read_logged(log, logged);
    fclose(log);
    for (int c = 0; c < loaders; c++) {
        out->exhausted += l[c].exhausted;
        for (int i = 0; i < PER_LOADER; i++) {
            enum outcome o = l[c].out[i];
            out->answered += o == ANSWERED;
            out->refused += o == REFUSED;
            out->unread += o == NO_ANSWER && logged[c][i] == 0;
            /* Dropped: the server answered (its log says so) and the client saw no answer. */
            bool lost =
                (logged[c][i] == 201 && o != ANSWERED) || (o == NO_ANSWER && logged[c][i] != 0);
            if (lost && !out->first_drop[0])
                snprintf(out->first_drop, sizeof out->first_drop,
                         "drain-%d-%d: logged %ld, the client saw %s", c, i, logged[c][i],
                         o == NO_ANSWER ? "the connection close with no answer" : "no 201");
            out->dropped += lost;
        }
    }
}
