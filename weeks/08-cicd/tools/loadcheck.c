/* loadcheck.c — a bounded load that counts every failed request, for week 8's deploy tests.
 *
 * "Zero failed requests during the deploy" needs a client that keeps asking throughout and
 * remembers each answer. wrk measures speed and folds errors into totals; this one is slow on
 * purpose (a few hundred requests a second at most) and exact: every request is a new
 * connection by default, so each one is routed afresh (a switch that breaks new connections
 * shows at once), and every failure is kept with its time, its status or curl's error.
 *
 * usage: loadcheck URL [--clients N] [--rate R] [--seconds S] [--stop-file F] [--keep-alive]
 *   --clients N   parallel clients (default 4)
 *   --rate R      requests a second in all, at most (default 200)
 *   --seconds S   stop after S seconds (default 60): the bound, so a test never hangs
 *   --stop-file F stop as soon as F exists (the test creates it when its steps are done)
 *   --keep-alive  reuse each client's connection instead
 * Prints one summary line and, for each failure (the first 20), "failure at +T ms: WHAT".
 * Exit status: 0 when requests were made and none failed, 1 when one did (or none was made),
 * 2 on bad usage. */
#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CLIENTS_MAX  64
#define FAILURES_MAX 20

struct options {
    const char *url;
    int clients;
    double rate;
    double seconds;
    const char *stop_file;
    bool keep_alive;
};

struct failure {
    long at_ms;
    char what[160];
};

struct shared {
    const struct options *opt;
    long start_ms;
    pthread_mutex_t lock;
    long requests, ok, failed;
    size_t kept;
    struct failure failures[FAILURES_MAX];
};

static long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t discard(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    (void)ptr;
    (void)userdata;
    return size * nmemb;
}

static bool should_stop(const struct shared *sh)
{
    if (now_ms() - sh->start_ms >= (long)(sh->opt->seconds * 1000))
        return true;
    return sh->opt->stop_file && access(sh->opt->stop_file, F_OK) == 0;
}

static void record(struct shared *sh, bool ok, const char *what)
{
    pthread_mutex_lock(&sh->lock);
    sh->requests++;
    if (ok) {
        sh->ok++;
    } else {
        sh->failed++;
        if (sh->kept < FAILURES_MAX) {
            struct failure *f = &sh->failures[sh->kept++];
            f->at_ms = now_ms() - sh->start_ms;
            snprintf(f->what, sizeof f->what, "%s", what);
        }
    }
    pthread_mutex_unlock(&sh->lock);
}

static void *client(void *arg)
{
    struct shared *sh = arg;
    CURL *curl = curl_easy_init();
    if (!curl) {
        record(sh, false, "curl_easy_init failed");
        return NULL;
    }
    curl_easy_setopt(curl, CURLOPT_URL, sh->opt->url);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_FORBID_REUSE, sh->opt->keep_alive ? 0L : 1L);
    /* Each client's share of the rate: the gap between its requests. */
    long gap_ms = (long)(1000.0 * sh->opt->clients / sh->opt->rate);
    while (!should_stop(sh)) {
        long t0 = now_ms();
        CURLcode rc = curl_easy_perform(curl);
        long status = 0;
        char what[160];
        if (rc != CURLE_OK) {
            snprintf(what, sizeof what, "no answer: %s", curl_easy_strerror(rc));
            record(sh, false, what);
        } else {
            curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
            snprintf(what, sizeof what, "status %ld", status);
            record(sh, status >= 200 && status < 300, what);
        }
        long left = gap_ms - (now_ms() - t0);
        if (left > 0)
            usleep((useconds_t)left * 1000);
    }
    curl_easy_cleanup(curl);
    return NULL;
}

static int parse(int argc, char **argv, struct options *o)
{
    *o = (struct options){.clients = 4, .rate = 200, .seconds = 60};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!a)
            break; /* argv[argc] is NULL; the analyser cannot see that i < argc keeps us short */
        char *end = NULL;
        if (strcmp(a, "--keep-alive") == 0) {
            o->keep_alive = true;
        } else if (strcmp(a, "--clients") == 0 && v) {
            o->clients = (int)strtol(v, &end, 10);
            i++;
        } else if (strcmp(a, "--rate") == 0 && v) {
            o->rate = strtod(v, &end);
            i++;
        } else if (strcmp(a, "--seconds") == 0 && v) {
            o->seconds = strtod(v, &end);
            i++;
        } else if (strcmp(a, "--stop-file") == 0 && v) {
            o->stop_file = v;
            i++;
        } else if (a[0] != '-' && !o->url) {
            o->url = a;
        } else {
            fprintf(stderr, "loadcheck: unknown or incomplete option '%s'\n", a);
            return -1;
        }
        if (end && *end) {
            fprintf(stderr, "loadcheck: '%s' is not a number (%s)\n", v, a);
            return -1;
        }
    }
    if (!o->url || o->clients < 1 || o->clients > CLIENTS_MAX || o->rate <= 0 || o->seconds <= 0) {
        fprintf(stderr,
                "usage: loadcheck URL [--clients 1..%d] [--rate R>0] [--seconds S>0] "
                "[--stop-file F] [--keep-alive]\n",
                CLIENTS_MAX);
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct options opt;
    if (parse(argc, argv, &opt) != 0)
        return 2;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "loadcheck: curl_global_init failed\n");
        return 1;
    }
    struct shared sh = {.opt = &opt, .start_ms = now_ms()};
    pthread_mutex_init(&sh.lock, NULL);
    pthread_t threads[CLIENTS_MAX];
    int started = 0;
    for (; started < opt.clients; started++) {
        if (pthread_create(&threads[started], NULL, client, &sh) != 0) {
            fprintf(stderr, "loadcheck: cannot start client %d: %s\n", started, strerror(errno));
            break;
        }
    }
    for (int i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    long elapsed = now_ms() - sh.start_ms;
    printf("loadcheck: %ld requests in %.1f s (%.0f/s), %ld answered 2xx, %ld failed\n",
           sh.requests, elapsed / 1000.0, elapsed > 0 ? sh.requests * 1000.0 / elapsed : 0.0, sh.ok,
           sh.failed);
    for (size_t i = 0; i < sh.kept; i++)
        printf("loadcheck: failure at +%ld ms: %s\n", sh.failures[i].at_ms, sh.failures[i].what);
    pthread_mutex_destroy(&sh.lock);
    curl_global_cleanup();
    return started == opt.clients && sh.requests > 0 && sh.failed == 0 ? 0 : 1;
}
