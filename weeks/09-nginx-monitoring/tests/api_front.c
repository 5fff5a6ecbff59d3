/* api_front.c — black-box tests of week 9's front: Debian's nginx in front of taskd instances.
 *
 * Every test builds a front of its own: a database, two taskd instances on it that trust the
 * proxy on 127.0.0.1 (TRUSTED_PROXIES), and nginx from front/front.sh with the week's
 * nginx.conf.in (or the learner's, in the lab: exercise 9.4 is its upstream block). Requests go
 * through nginx, as a client's would; the instances are asked directly only for what a client
 * cannot see (their /metrics, to know which one answered).
 *
 * Clients with different addresses: the whole of 127.0.0.0/8 is this machine, so a test's own
 * client binds to 127.0.0.2, 127.0.0.3... (CURLOPT_INTERFACE) and nginx sees different
 * clients, while only 127.0.0.1 (nginx itself) is a trusted proxy. */
#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_helpers.h"
#include "buf.h"
#include "testkit.h"
#include "tk_raw.h"

#define FRONT_SH      "weeks/09-nginx-monitoring/front/front.sh"
#define INSTANCES_MAX 4
#define OUT_MAX       4096
/* What every instance behind the front is started with: nginx is the only proxy it trusts. */
#define TRUST_ENV "TRUSTED_PROXIES=127.0.0.1"

struct front {
    struct tk_server *db;                  /* holds the database; never behind nginx */
    struct tk_server *inst[INSTANCES_MAX]; /* behind nginx (NULL once stopped) */
    size_t n;
    char dir[64];
    char url[64];
    struct tk_server *via; /* the front as the kit's server: tk_request goes through nginx */
};

static struct front g;

/* ------------------------------------------------------------------ the front */

static const char *host_port(const struct tk_server *s)
{
    return tk_server_url(s) + strlen("http://");
}

/* front.sh CMD DIR ARGS... with the graded template; fails the test, naming exercise 9.4, when
 * it does not exit 0. out gets what it printed. */
static void front_sh(char *out, size_t cap, const char *cmd, const char *args)
{
    const char *tmpl =
        tk_graded_file("nginx.conf.in", "weeks/09-nginx-monitoring/front/nginx.conf.in");
    int rc =
        tk_sh(out, cap, "FRONT_TEMPLATE='%s' bash " FRONT_SH " %s %s %s", tmpl, cmd, g.dir, args);
    cr_assert_eq(rc, 0,
                 "front.sh %s failed (exit %d): %s\n(is nginx.conf.in's upstream block, lab 9.4, "
                 "there and valid?)",
                 cmd, rc, out);
}

/* The instances' list as front.sh takes it; the one at index `down` (if < g.n) marked down. */
static void upstream_args(char *buf, size_t cap, size_t down)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < g.n; i++) {
        if (!g.inst[i])
            continue;
        int w = snprintf(buf + used, cap - used, "%s%s ", host_port(g.inst[i]),
                         i == down ? "=down" : "");
        cr_assert(w > 0 && (size_t)w < cap - used, "the instance list does not fit");
        used += (size_t)w;
    }
}

static struct tk_server *start_instance(const char *const *extra_env)
{
    char db[600];
    snprintf(db, sizeof db, "DATABASE_URL=%s", tk_server_database_url(g.db));
    const char *env[16] = {TRUST_ENV, db};
    size_t n = 2;
    for (size_t i = 0; extra_env && extra_env[i] && n < 15; i++)
        env[n++] = extra_env[i];
    env[n] = NULL;
    struct tk_server *s = tk_server_start(env);
    cr_assert(s, "a taskd instance did not start");
    return s;
}

static void front_down(void)
{
    if (g.dir[0]) {
        char out[OUT_MAX];
        (void)tk_sh(out, sizeof out, "bash " FRONT_SH " down %s && rm -rf %s", g.dir, g.dir);
        g.dir[0] = '\0';
    }
    for (size_t i = 0; i < g.n; i++)
        tk_server_stop(g.inst[i]);
    tk_server_stop(g.db);
    g.via = NULL; /* the kit frees it with its leftovers */
    g = (struct front){0};
}

/* n instances (each with extra_env) behind a new nginx started with front.sh's options. */
static void front_up(size_t n, const char *const *extra_env, const char *options)
{
    tk_need_local("starts nginx and taskd instances of its own");
    g.db = tk_server_start((const char *const[]){TRUST_ENV, NULL});
    cr_assert(g.db, "the database's taskd did not start");
    for (size_t i = 0; i < n; i++)
        g.inst[g.n++] = start_instance(extra_env);
    snprintf(g.dir, sizeof g.dir, "/tmp/taskd-front-XXXXXX");
    cr_assert(mkdtemp(g.dir), "mkdtemp failed");
    (void)tk_run_dir_claim(g.dir);
    char args[512], all[640], out[OUT_MAX];
    upstream_args(args, sizeof args, SIZE_MAX);
    snprintf(all, sizeof all, "%s %s", options ? options : "", args);
    front_sh(out, sizeof out, "up", all);
    const char *u = strstr(out, "front-url ");
    cr_assert(u, "front.sh up did not print the front's URL: %s", out);
    snprintf(g.url, sizeof g.url, "%.*s", (int)strcspn(u + 10, "\n"), u + 10);
    g.via = tk_server_remote(g.url);
    cr_assert(g.via);
    cr_assert_eq(tk_server_login(g.via), 0, "logging in through nginx failed");
}

/* ------------------------------------------------------------------ a client of our own */

struct answer {
    long status; /* 0: no answer (the transport failed) */
    struct buf body, head;
    char error[CURL_ERROR_SIZE];
};

static void answer_free(struct answer *a)
{
    buf_free(&a->body);
    buf_free(&a->head);
}

/* One request through the front from source address `from` ("127.0.0.2"; NULL: any), with
 * headers (NULL-terminated, may be NULL) and the user's token. */
static void send_from(CURL *c, const char *from, const char *method, const char *path,
                      const char *const *headers, const char *body, struct answer *a)
{
    char url[256];
    snprintf(url, sizeof url, "%s%s", g.url, path);
    struct curl_slist *h = tk_curl_auth(NULL);
    for (size_t i = 0; headers && headers[i]; i++)
        h = curl_slist_append(h, headers[i]);
    if (body)
        h = curl_slist_append(h, "Content-Type: application/json");
    buf_init(&a->body);
    buf_init(&a->head);
    a->status = 0;
    a->error[0] = '\0';
    curl_easy_reset(c);
    tk_curl_collect(c, url, h, &a->body, &a->head);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, a->error);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (from)
        curl_easy_setopt(c, CURLOPT_INTERFACE, from);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a->status);
    curl_slist_free_all(h);
    buf_putc(&a->body, '\0');
    buf_putc(&a->head, '\0');
}

/* ------------------------------------------------------------------ which instance answered */

/* GET /tasks answered 200 by instance i so far, from its own /metrics. */
static double listed_by(size_t i)
{
    struct tk_response *r = tk_get(g.inst[i], "/metrics");
    tk_expect_status(r, 200);
    const char *series = "http_requests_total{method=\"GET\",route=\"/tasks\",status=\"200\"} ";
    const char *p = strstr(r->body, series);
    double v = p ? strtod(p + strlen(series), NULL) : 0;
    tk_response_free(r);
    return v;
}

GRADED(front, spreads_requests_over_the_instances, 3, .fini = front_down)
{
    front_up(2, NULL, NULL);
    enum { SENT = 40 };
    for (int i = 0; i < SENT; i++) {
        struct tk_response *r = tk_get(g.via, "/tasks");
        tk_expect_status(r, 200);
        tk_response_free(r);
    }
    double a = listed_by(0), b = listed_by(1);
    cr_assert_eq(a + b, SENT, "the instances answered %.0f + %.0f GET /tasks, not the %d sent", a,
                 b, SENT);
    cr_assert(a >= SENT / 4 && b >= SENT / 4,
              "least_conn should spread one client's requests over both instances (lab 9.4): "
              "one answered %.0f, the other %.0f",
              a, b);
}

static bool file_has(const char *path, const char *needle)
{
    char *text = tk_read_file(path, NULL);
    bool found = text && strstr(text, needle);
    free(text);
    return found;
}

GRADED(front, request_id_is_passed_through_or_made, 2, .fini = front_down)
{
    front_up(2, NULL, NULL);
    struct tk_response *r =
        tk_request(g.via, "GET", "/tasks",
                   (const char *const[]){"X-Request-Id: trace-9.abc_1", NULL}, NULL, 0);
    tk_expect_status(r, 200);
    tk_expect_header(r, "X-Request-Id", "trace-9.abc_1");
    tk_response_free(r);
    r = tk_request(g.via, "GET", "/tasks", (const char *const[]){"X-Request-Id: not sane!", NULL},
                   NULL, 0);
    tk_expect_status(r, 200);
    char id[80];
    cr_assert(tk_header(r, "X-Request-Id", id, sizeof id), "no X-Request-Id in the answer");
    cr_assert(strcmp(id, "not sane!") != 0 && strspn(id, "0123456789abcdef") == 32 && !id[32],
              "an insane X-Request-Id should be replaced by nginx's own ($request_id: 32 hex "
              "digits), got \"%s\"",
              id);
    tk_response_free(r);
    /* The same id in nginx's log and in the log of the instance that answered. Both write
     * their line after the answer has gone, so give them a moment. */
    char path[128];
    snprintf(path, sizeof path, "%s/access.log", g.dir);
    bool in_front = false, seen = false;
    for (long deadline = tk_now_ms() + 3000; !(in_front && seen) && tk_now_ms() < deadline;
         tk_sleep_ms(20)) {
        in_front = in_front || file_has(path, id);
        for (size_t i = 0; i < g.n && !seen; i++)
            seen = file_has(tk_server_log_path(g.inst[i]), id);
    }
    cr_assert(in_front, "nginx's access log lacks the request id %s", id);
    cr_assert(seen, "no instance logged the request id %s that nginx sent", id);
}

/* A failed login through nginx from `from` (a fresh e-mail each time, so that only the
 * per-address count grows); returns the status. */
static long fail_login(CURL *c, const char *from, const char *const *headers)
{
    static int n;
    char body[160];
    snprintf(body, sizeof body,
             "{\"email\":\"nobody-%d-%ld@example.com\",\"password\":\"wrong-pw-1\"}", n++,
             (long)getpid());
    struct answer a;
    send_from(c, from, "POST", "/auth/login", headers, body, &a);
    long status = a.status;
    cr_assert(status != 0, "POST /auth/login from %s: no answer (%s)", from, a.error);
    if (status == 429)
        cr_assert(!strstr(a.body.data, "from this address: try again in a second"),
                  "the 429 came from nginx's rate limit, not taskd's login throttle: %s",
                  a.body.data);
    answer_free(&a);
    return status;
}

GRADED(front, login_throttle_counts_the_real_client, 3, .fini = front_down)
{
    front_up(2, (const char *const[]){"LOGIN_IP_MAX_FAILURES=3", "LOGIN_MAX_FAILURES=100", NULL},
             NULL);
    CURL *c = curl_easy_init();
    cr_assert(c);
    long last = 0;
    for (int i = 0; i < 3; i++)
        cr_assert_eq(last = fail_login(c, "127.0.0.2", NULL), 401, "failure %d: %ld", i + 1, last);
    cr_assert_eq(last = fail_login(c, "127.0.0.2", NULL), 429,
                 "a 4th failure from 127.0.0.2 (LOGIN_IP_MAX_FAILURES=3) should be 429, got %ld",
                 last);
    /* Another client behind the same proxy is not locked out with it... */
    cr_assert_eq(last = fail_login(c, "127.0.0.3", NULL), 401,
                 "127.0.0.3 was throttled for 127.0.0.2's failures (%ld): taskd counts the "
                 "proxy's address, not X-Forwarded-For's client",
                 last);
    /* ...and a client cannot escape by naming someone else: nginx appends the address it saw,
     * and taskd takes the rightmost one it does not trust. */
    cr_assert_eq(last = fail_login(c, "127.0.0.2",
                                   (const char *const[]){"X-Forwarded-For: 198.51.100.7", NULL}),
                 429, "a forged X-Forwarded-For let 127.0.0.2 past the throttle (%ld)", last);
    curl_easy_cleanup(c);
}

GRADED(front, auth_is_rate_limited_with_a_problem_429, 2, .fini = front_down)
{
    front_up(1, NULL, "--auth-rate 2 --auth-burst 4");
    CURL *c = curl_easy_init();
    cr_assert(c);
    int limited = 0, passed = 0;
    for (int i = 0; i < 20; i++) {
        struct answer a;
        send_from(c, "127.0.0.4", "POST", "/auth/login", NULL, "{", &a);
        if (a.status == 429) {
            limited++;
            cr_assert(strstr(a.head.data, "application/problem+json") &&
                          strstr(a.body.data, "\"status\":429") &&
                          strcasestr(a.head.data, "\nRetry-After: 1"),
                      "nginx's 429 should be a problem+json body with Retry-After:\n%s%s",
                      a.head.data, a.body.data);
        } else {
            cr_assert_eq(a.status, 400, "a malformed login should be 400, got %ld", a.status);
            passed++;
        }
        answer_free(&a);
    }
    cr_assert(passed >= 4 && passed <= 8 && limited >= 12,
              "20 logins at once with rate 2/s and burst 4: expected about 5 through and the "
              "rest 429, got %d through and %d limited",
              passed, limited);
    /* The limit is on /auth only. */
    struct answer a;
    send_from(c, "127.0.0.4", "GET", "/tasks", NULL, NULL, &a);
    cr_assert_eq(a.status, 200, "GET /tasks from the limited client: %ld", a.status);
    answer_free(&a);
    curl_easy_cleanup(c);
}

GRADED(front, body_limit_agrees_with_taskd, 2, .fini = front_down)
{
    front_up(1, NULL, NULL);
    size_t limit = 1048576; /* MAX_BODY_BYTES's default, and front.sh's --max-body */
    char *body = malloc(limit + 2);
    cr_assert(body);
    memset(body, ' ', limit + 1);
    body[0] = '{';
    body[limit - 1] = '}';
    body[limit + 1] = '\0';
    /* One byte over: nginx answers 413 itself, in the problem format, without bothering taskd. */
    struct tk_response *r = tk_raw_request(
        g.via, "POST", "/tasks", (const char *const[]){"Content-Type: application/json", NULL},
        body, limit + 1);
    tk_expect_problem(r, 413);
    tk_response_free(r);
    /* Exactly the limit: through to taskd, which reads it (an empty object: 422, not 413). */
    r = tk_request(g.via, "POST", "/tasks",
                   (const char *const[]){"Content-Type: application/json", NULL}, body, limit);
    cr_assert_neq(r->status, 413,
                  "a body of exactly MAX_BODY_BYTES was refused: the limits "
                  "of nginx and taskd disagree");
    tk_expect_problem(r, 422);
    tk_response_free(r);
    free(body);
}

GRADED(front, json_is_gzipped, 1, .fini = front_down)
{
    front_up(1, NULL, NULL);
    long long ids[40];
    api_create_many(g.via, 40, "", ids);
    CURL *c = curl_easy_init();
    cr_assert(c);
    struct answer a;
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
    char url[128];
    snprintf(url, sizeof url, "%s/tasks?limit=40", g.url);
    struct curl_slist *h = tk_curl_auth(NULL);
    buf_init(&a.body);
    buf_init(&a.head);
    tk_curl_collect(c, url, h, &a.body, &a.head);
    cr_assert_eq(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &a.status);
    curl_off_t wire = 0;
    curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &wire);
    buf_putc(&a.head, '\0');
    cr_assert_eq(a.status, 200);
    cr_assert(strcasestr(a.head.data, "\nContent-Encoding: gzip"),
              "a 40-task listing asked for with Accept-Encoding: gzip came back uncompressed:\n%s",
              a.head.data);
    cr_assert(a.body.len > 0 && a.body.data[0] == '{', "the listing did not decompress to JSON");
    curl_slist_free_all(h);
    answer_free(&a);
    curl_easy_cleanup(c);
}

GRADED(front, metrics_are_not_public, 1, .fini = front_down)
{
    front_up(1, NULL, NULL);
    struct tk_response *r = tk_get(g.via, "/metrics");
    tk_expect_problem(r, 404);
    tk_response_free(r);
    r = tk_get(g.inst[0], "/metrics");
    tk_expect_status(r, 200);
    tk_response_free(r);
}

GRADED(front, slow_client_is_dropped, 2, .fini = front_down)
{
    front_up(1, NULL, "--client-timeout 2");
    int fd = tk_raw_connect(g.via);
    const char *part = "GET /tasks HTTP/1.1\r\nHost: front\r\n"; /* and never the blank line */
    cr_assert(tk_raw_send(fd, part, strlen(part)));
    long start = tk_now_ms();
    /* Others are served while it dangles. */
    struct tk_response *r = tk_get(g.via, "/tasks");
    tk_expect_status(r, 200);
    tk_response_free(r);
    char byte;
    ssize_t got = 0;
    struct timeval tv = {.tv_sec = 8};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    while ((got = read(fd, &byte, 1)) > 0)
        ; /* nginx may say 408 before it closes */
    long waited = tk_now_ms() - start;
    close(fd);
    cr_assert(got == 0 && waited >= 1500 && waited < 6000,
              "a client that stops mid-head should be dropped after client_header_timeout (2 s): "
              "%s after %ld ms",
              got == 0 ? "closed" : "still open", waited);
}

/* ------------------------------------------------------------------ under load */

struct load {
    atomic_bool stop;
    atomic_long ok, failed;
    long long task_id; /* read by GET, written by PATCH */
    bool writes;       /* POST and PATCH too, not only GET */
    char first_error[256];
    pthread_mutex_t lock;
};

static void load_error(struct load *l, const char *what, const struct answer *a)
{
    atomic_fetch_add(&l->failed, 1);
    pthread_mutex_lock(&l->lock);
    if (!l->first_error[0])
        snprintf(l->first_error, sizeof l->first_error, "%s: %ld %.80s %.120s", what, a->status,
                 a->error, a->body.data ? a->body.data : "");
    pthread_mutex_unlock(&l->lock);
}

static void *load_thread(void *arg)
{
    struct load *l = arg;
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    char path[64];
    snprintf(path, sizeof path, "/tasks/%lld", l->task_id);
    for (unsigned i = 0; !atomic_load(&l->stop); i++) {
        struct answer a;
        const char *what = "GET";
        long want = 200;
        if (l->writes && i % 3 == 1) {
            what = "POST";
            want = 201;
            send_from(c, NULL, "POST", "/tasks", NULL, "{\"title\":\"under load\"}", &a);
        } else if (l->writes && i % 3 == 2) {
            what = "PATCH";
            send_from(c, NULL, "PATCH", path, NULL, "{\"status\":\"in_progress\"}", &a);
        } else {
            send_from(c, NULL, "GET", path, NULL, NULL, &a);
        }
        if (a.status == want)
            atomic_fetch_add(&l->ok, 1);
        else
            load_error(l, what, &a);
        answer_free(&a);
    }
    curl_easy_cleanup(c);
    return NULL;
}

enum { LOAD_THREADS = 4 };

/* A front of two instances, with LOAD_THREADS clients sending requests through it until
 * load_stop. */
static void front_under_load(struct load *l, pthread_t *t, bool writes)
{
    front_up(2, NULL, NULL);
    *l = (struct load){.writes = writes};
    pthread_mutex_init(&l->lock, NULL);
    l->task_id = api_new_task(g.via);
    for (int i = 0; i < LOAD_THREADS; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, load_thread, l), 0);
}

static void load_stop(struct load *l, pthread_t *t)
{
    atomic_store(&l->stop, true);
    for (int i = 0; i < LOAD_THREADS; i++)
        pthread_join(t[i], NULL);
    pthread_mutex_destroy(&l->lock);
}

GRADED(front, failover_loses_no_idempotent_request, 4, .fini = front_down)
{
    struct load l;
    pthread_t t[LOAD_THREADS];
    front_under_load(&l, t, false);
    tk_sleep_ms(1000);
    long before = atomic_load(&l.ok);
    /* The crash: no goodbye, connections under way reset. */
    kill(tk_server_pid(g.inst[1]), SIGKILL);
    tk_sleep_ms(1500);
    load_stop(&l, t);
    long ok = atomic_load(&l.ok), failed = atomic_load(&l.failed);
    cr_log_info("failover: %ld GETs answered before the crash, %ld in all, %ld failed", before, ok,
                failed);
    cr_assert(before > 20 && ok > before + 20,
              "the load did not get going (%ld answers before the crash, %ld in all)", before, ok);
    cr_assert_eq(failed, 0,
                 "%ld of %ld GETs failed when an instance crashed: nginx should retry an "
                 "idempotent request on the other instance (proxy_next_upstream; max_fails, lab "
                 "9.4). First: %s",
                 failed, ok + failed, l.first_error);
}

GRADED(front, rolling_restart_gives_zero_errors, 4, .fini = front_down)
{
    struct load l;
    pthread_t t[LOAD_THREADS];
    front_under_load(&l, t, true);
    tk_sleep_ms(500);
    char args[512], out[OUT_MAX];
    for (size_t old = 0; old < 2; old++) {
        /* Surge first: the new instance joins, then the old one gets nothing new, drains and
         * stops. Capacity never drops below two instances. */
        cr_assert(g.n < INSTANCES_MAX);
        g.inst[g.n++] = start_instance(NULL);
        upstream_args(args, sizeof args, old);
        front_sh(out, sizeof out, "set", args);
        cr_assert_eq(tk_server_stop(g.inst[old]), 0, "instance %zu did not stop cleanly", old);
        g.inst[old] = NULL;
        upstream_args(args, sizeof args, SIZE_MAX);
        front_sh(out, sizeof out, "set", args);
        tk_sleep_ms(300);
    }
    tk_sleep_ms(300);
    load_stop(&l, t);
    long ok = atomic_load(&l.ok), failed = atomic_load(&l.failed);
    cr_log_info("rolling restart: %ld requests (GET, POST, PATCH) answered, %ld failed", ok,
                failed);
    cr_assert(ok > 100, "too little load to mean anything (%ld answers)", ok);
    cr_assert_eq(failed, 0,
                 "%ld of %ld requests failed during a rolling restart behind nginx. First: %s",
                 failed, ok + failed, l.first_error);
}
