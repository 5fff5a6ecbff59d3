/* unit_http_defer.c — deferred answers (http_defer / http_deferred_done in http.h), in-process.
 *
 * A handler hands its slow work to a work pool (work_pool.h) and defers; the work waits on a
 * gate the test opens. While it waits, another request on another connection must be answered
 * by the same single event loop: had the handler blocked it, that request would hang until the
 * client's timeout. Then the deferred request gets the answer its work built, in both
 * concurrency models, and stopping the server waits for deferred work and for its answer to be
 * written instead of cutting it off (SANITIZE=1 turns a use after free there into a failure). */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "http.h"
#include "testkit.h"
#include "work_pool.h"

static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bool open;
    int started;
} gate = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, false, 0};

struct slow_job {
    struct http_req *req;
    struct http_res *res;
};

static struct slow_job job; /* one deferred request at a time in these tests */

/* What the deferred work answers: "slow", or a test's own body. */
static struct {
    const char *data;
    size_t len;
} slow_answer = {"slow", 4};

static void slow_work(void *arg)
{
    struct slow_job *j = arg;
    pthread_mutex_lock(&gate.lock);
    gate.started++;
    pthread_cond_broadcast(&gate.cond);
    while (!gate.open)
        pthread_cond_wait(&gate.cond, &gate.lock);
    pthread_mutex_unlock(&gate.lock);
    http_res_body(j->res, 200, "text/plain", slow_answer.data, slow_answer.len);
    http_deferred_done(j->req);
}

static void slow(struct http_req *req, struct http_res *res, void *ctx)
{
    job = (struct slow_job){.req = req, .res = res};
    http_defer(req);
    if (work_pool_submit(ctx, slow_work, &job) != 0) {
        http_res_body(res, 503, "text/plain", "busy", 4);
        http_deferred_done(req);
    }
}

static void fast(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)req;
    (void)ctx;
    http_res_body(res, 200, "text/plain", "fast", 4);
}

static void gate_open(void)
{
    pthread_mutex_lock(&gate.lock);
    gate.open = true;
    pthread_cond_broadcast(&gate.cond);
    pthread_mutex_unlock(&gate.lock);
}

static void gate_wait_started(void)
{
    pthread_mutex_lock(&gate.lock);
    while (gate.started < 1)
        pthread_cond_wait(&gate.cond, &gate.lock);
    pthread_mutex_unlock(&gate.lock);
}

struct answer {
    char url[128];
    long status;
    struct buf body; /* NUL-terminated (buf.h) once anything came */
    CURLcode rc;
};

static const char *body_of(const struct answer *a)
{
    return a->body.data ? a->body.data : "";
}

/* One GET on a connection of its own, set up by the kit (tk_curl_collect); no assertions (it
 * may run on a thread of the test). */
static void *get(void *arg)
{
    struct answer *a = arg;
    CURL *curl = curl_easy_init();
    if (!curl) {
        a->rc = CURLE_FAILED_INIT;
        return NULL;
    }
    tk_curl_collect(curl, a->url, NULL, &a->body, NULL);
    a->rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &a->status);
    curl_easy_cleanup(curl);
    return NULL;
}

static struct http_server *start(enum http_mode mode, struct work_pool *pool)
{
    signal(SIGPIPE, SIG_IGN);
    struct http_options opts = {.bind_address = "127.0.0.1",
                                .mode = mode,
                                .threads = 1, /* one event loop: a blocked one blocks all */
                                .max_body_bytes = 1024,
                                .max_header_bytes = 8192,
                                .timeout_seconds = 10,
                                .max_connections = 8};
    struct http_server *s = http_server_new(&opts);
    cr_assert_not_null(s, "expected http_server_new to succeed");
    cr_assert(http_route(s, "GET", "/slow", slow, pool, 0) == 0 &&
                  http_route(s, "GET", "/fast", fast, NULL, 0) == 0,
              "expected the routes");
    cr_assert_eq(http_server_start(s), 0, "expected the server to start");
    return s;
}

static void url_of(const struct http_server *s, const char *path, struct answer *a)
{
    snprintf(a->url, sizeof a->url, "http://127.0.0.1:%u%s", http_server_port(s), path);
}

/* The deferred request waits; another one is served meanwhile; then the deferred one gets its
 * answer. */
static void other_requests_go_on(enum http_mode mode)
{
    struct work_pool *pool = work_pool_new(1, 4, 0);
    cr_assert_not_null(pool, "work_pool_new failed");
    struct http_server *s = start(mode, pool);
    struct answer slow_a = {0}, fast_a = {0};
    url_of(s, "/slow", &slow_a);
    url_of(s, "/fast", &fast_a);
    pthread_t th;
    cr_assert_eq(pthread_create(&th, NULL, get, &slow_a), 0, "pthread_create");
    gate_wait_started();

    get(&fast_a);
    cr_assert(fast_a.rc == CURLE_OK && fast_a.status == 200 &&
                  strcmp(body_of(&fast_a), "fast") == 0,
              "GET /fast while GET /slow's work waits: expected 200 \"fast\", got %ld \"%s\" (%s): "
              "the deferred request must not hold the event loop",
              fast_a.status, body_of(&fast_a), curl_easy_strerror(fast_a.rc));

    gate_open();
    pthread_join(th, NULL);
    cr_assert(slow_a.rc == CURLE_OK && slow_a.status == 200 &&
                  strcmp(body_of(&slow_a), "slow") == 0,
              "GET /slow: expected the work's answer 200 \"slow\", got %ld \"%s\" (%s)",
              slow_a.status, body_of(&slow_a), curl_easy_strerror(slow_a.rc));
    buf_free(&fast_a.body);
    buf_free(&slow_a.body);
    http_server_free(s);
    work_pool_free(pool);
}

GRADED(http_defer, an_event_loop_serves_others_while_work_is_deferred, 2)
{
    other_requests_go_on(HTTP_MODE_POOL);
}

GRADED(http_defer, a_thread_per_connection_waits_for_its_deferred_work, 1)
{
    other_requests_go_on(HTTP_MODE_THREAD_PER_CONNECTION);
}

static void *stop_server(void *arg)
{
    http_server_stop(arg);
    return NULL;
}

/* Whether port still accepts connections: false once http_server_stop has closed the listening
 * socket (its first step), which is how the test knows the stop is under way without a sleep. */
static bool accepting(unsigned port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert(fd >= 0, "test bug: socket failed");
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bool ok = connect(fd, (struct sockaddr *)&addr, sizeof addr) == 0;
    close(fd);
    return ok;
}

/* The stop begins while the work waits, and the work's answer is big (16 MiB: more than the
 * loopback socket buffers hold, so writing it takes many turns of the event loop). Stopping must
 * wait until that answer is written, not only until it is queued: a server that stops
 * libmicrohttpd in between cuts the answer off, and the client gets part of it. */
GRADED(http_defer, stopping_waits_for_deferred_work_and_sends_its_answer, 2)
{
    enum { BIG = 16 << 20 };
    char *big = malloc(BIG);
    cr_assert_not_null(big, "test bug: malloc failed");
    memset(big, 'x', BIG);
    slow_answer.data = big;
    slow_answer.len = BIG;
    struct work_pool *pool = work_pool_new(1, 4, 0);
    cr_assert_not_null(pool, "work_pool_new failed");
    struct http_server *s = start(HTTP_MODE_POOL, pool);
    unsigned port = http_server_port(s);
    struct answer slow_a = {0};
    url_of(s, "/slow", &slow_a);
    pthread_t client, stopper;
    cr_assert_eq(pthread_create(&client, NULL, get, &slow_a), 0, "pthread_create");
    gate_wait_started();
    cr_assert_eq(pthread_create(&stopper, NULL, stop_server, s), 0, "pthread_create");
    /* The stop has begun once new connections are refused; only then may the work finish. */
    int tries = 0;
    while (accepting(port) && ++tries < 20000)
        tk_sleep_ms(1);
    cr_assert(tries < 20000, "expected http_server_stop to stop accepting connections");
    gate_open();
    pthread_join(stopper, NULL);
    pthread_join(client, NULL);
    cr_assert(slow_a.rc == CURLE_OK && slow_a.status == 200 && slow_a.body.len == (size_t)BIG,
              "GET /slow deferred while the server stopped: expected its whole answer, 200 and "
              "%d bytes, got %ld and %zu bytes (%s)",
              BIG, slow_a.status, slow_a.body.len, curl_easy_strerror(slow_a.rc));
    buf_free(&slow_a.body);
    http_server_free(s);
    work_pool_free(pool); /* only now: the server no longer needs it */
    free(big);
}
