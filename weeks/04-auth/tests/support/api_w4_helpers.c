/* api_w4_helpers.c — the helpers of week 4's black-box suites (see api_w4_helpers.h). Linked into
 * the week-4 suite with the api_*.c files; it defines no tests. */
#include "api_w4_helpers.h"

#include <curl/curl.h>
#include <errno.h>
#include <stddef.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api_helpers.h"
#include "api_pg_helpers.h"
#include "buf.h"
#include "tk_race.h"

#define W4_RACERS_MAX 128

/* ------------------------------------------------------------------ servers */

static struct tk_server *private_server;
static char queue_prefix[96];

struct tk_server *w4_private(const char *const *settings)
{
    const char *env[32];
    size_t n = 0;
    for (size_t i = 0; settings && settings[i]; i++) {
        cr_assert(n < 30, "test bug: too many settings for w4_private");
        env[n++] = settings[i];
    }
    char unique[64];
    snprintf(queue_prefix, sizeof queue_prefix, "QUEUE_PREFIX=%s",
             tk_unique("w4", unique, sizeof unique));
    env[n++] = queue_prefix;
    env[n] = NULL;
    private_server = tk_server_start(env);
    return private_server;
}

void w4_private_fini(void)
{
    tk_server_stop(private_server);
    private_server = NULL;
}

const char *w4_private_queue_prefix(void)
{
    return queue_prefix;
}

/* ------------------------------------------------------------------ users */

const char *w4_email(const char *tag, char *buf, size_t len)
{
    char unique[96];
    snprintf(buf, len, "%s@example.com", tk_unique(tag, unique, sizeof unique));
    return buf;
}

static const char *const json_type[] = {"Content-Type: application/json", NULL};

/* POSTs {"name1": v1[, "name2": v2]} to path; the strings are escaped by cJSON. */
static struct tk_response *post_strings(struct tk_server *s, const char *path, const char *name1,
                                        const char *v1, const char *name2, const char *v2)
{
    cJSON *o = cJSON_CreateObject();
    cr_assert(o && cJSON_AddStringToObject(o, name1, v1), "out of memory");
    if (name2)
        cr_assert(cJSON_AddStringToObject(o, name2, v2), "out of memory");
    char *body = cJSON_PrintUnformatted(o);
    cr_assert(body, "out of memory");
    cJSON_Delete(o);
    struct tk_response *r = tk_request(s, "POST", path, json_type, body, strlen(body));
    cJSON_free(body);
    return r;
}

struct tk_response *w4_register(struct tk_server *s, const char *email, const char *password)
{
    return post_strings(s, "/auth/register", "email", email, "password", password);
}

struct tk_response *w4_login(struct tk_server *s, const char *email, const char *password)
{
    return post_strings(s, "/auth/login", "email", email, "password", password);
}

struct tk_response *w4_refresh(struct tk_server *s, const char *refresh_token)
{
    return post_strings(s, "/auth/refresh", "refresh_token", refresh_token, NULL, NULL);
}

void w4_expect_token_pair(const struct tk_response *r)
{
    cr_assert(r->status == 200, "%s: expected 200 with a token pair, got %ld: %.*s", r->what,
              r->status, W4_SHOWN, r->body);
    api_expect_json_type(r);
    cr_assert(cJSON_IsObject(r->json) && cJSON_GetArraySize(r->json) == 4,
              "%s: expected exactly {\"access_token\",\"token_type\",\"expires_in\","
              "\"refresh_token\"}, got: %.*s",
              r->what, W4_SHOWN, r->body);
    cr_assert(*tk_json_str(r, "access_token") && *tk_json_str(r, "refresh_token"),
              "%s: expected non-empty tokens, got: %.*s", r->what, W4_SHOWN, r->body);
    tk_expect_json_str(r, "token_type", "Bearer");
    tk_expect_json_int(r, "expires_in", W4_ACCESS_TTL);
    char cc[128];
    const char *got = tk_header(r, "Cache-Control", cc, sizeof cc);
    cr_assert(got && strstr(got, "no-store"),
              "%s: a token response must carry Cache-Control: no-store (API.md), got %s", r->what,
              got ? got : "no Cache-Control");
}

void w4_user_take_tokens(struct w4_user *u, const struct tk_response *r)
{
    cr_assert(r->status == 200, "%s: expected 200 with a token pair, got %ld: %.*s", r->what,
              r->status, W4_SHOWN, r->body);
    const char *access = tk_json_str(r, "access_token");
    const char *refresh = tk_json_str(r, "refresh_token");
    cr_assert(*access && strlen(access) < sizeof u->access,
              "%s: expected an access_token of 1..%zu bytes, got %zu", r->what,
              sizeof u->access - 1, strlen(access));
    cr_assert(*refresh && strlen(refresh) < sizeof u->refresh,
              "%s: expected a refresh_token of 1..%zu bytes, got %zu", r->what,
              sizeof u->refresh - 1, strlen(refresh));
    snprintf(u->access, sizeof u->access, "%s", access);
    snprintf(u->refresh, sizeof u->refresh, "%s", refresh);
    w4_bearer(u->access, u->auth, sizeof u->auth);
}

void w4_user_new(struct tk_server *s, const char *tag, struct w4_user *u)
{
    memset(u, 0, sizeof *u);
    w4_email(tag, u->email, sizeof u->email);
    char unique[96];
    snprintf(u->password, sizeof u->password, "pw %s", tk_unique("secret", unique, sizeof unique));
    struct tk_response *r = w4_register(s, u->email, u->password);
    cr_assert(r->status == 201, "%s %s: expected 201, got %ld: %.*s", r->what, u->email, r->status,
              W4_SHOWN, r->body);
    u->id = tk_json_int(r, "id");
    cr_assert(u->id > 0, "%s: expected a positive id, got %lld", r->what, u->id);
    tk_response_free(r);
    r = w4_login(s, u->email, u->password);
    w4_user_take_tokens(u, r);
    tk_response_free(r);
}

const char *w4_bearer(const char *token, char *buf, size_t len)
{
    int n = snprintf(buf, len, "Authorization: Bearer %s", token);
    cr_assert(n > 0 && (size_t)n < len, "test bug: a token of %zu bytes does not fit",
              strlen(token));
    return buf;
}

struct tk_response *w4_as(struct tk_server *s, const char *auth, const char *method,
                          const char *path, const char *json)
{
    const char *headers[] = {auth, json ? "Content-Type: application/json" : NULL, NULL};
    return tk_request(s, method, path, headers, json, json ? strlen(json) : 0);
}

void w4_expect_401(const struct tk_response *r, bool token_presented)
{
    tk_expect_problem(r, 401);
    tk_expect_header(r, "WWW-Authenticate", token_presented ? W4_CHALLENGE_INVALID : W4_CHALLENGE);
}

void w4_expect_401_challenge(const struct tk_response *r)
{
    tk_expect_problem(r, 401);
    char buf[256];
    const char *got = tk_header(r, "WWW-Authenticate", buf, sizeof buf);
    cr_assert(got && strncmp(got, W4_CHALLENGE, strlen(W4_CHALLENGE)) == 0,
              "%s: expected WWW-Authenticate: %s[, error=...], got %s", r->what, W4_CHALLENGE,
              got ? got : "(absent)");
}

long w4_expect_429(const struct tk_response *r, long max)
{
    tk_expect_problem(r, 429);
    char buf[64];
    const char *ra = tk_header(r, "Retry-After", buf, sizeof buf);
    cr_assert(ra, "%s: a 429 needs Retry-After (seconds)", r->what);
    char *end = NULL;
    long secs = strtol(ra, &end, 10);
    cr_assert(end != ra && *end == '\0' && secs >= 1 && secs <= max,
              "%s: expected Retry-After of 1..%ld seconds (the rest of the window), got \"%s\"",
              r->what, max, ra);
    return secs;
}

void w4_expect_404(const struct tk_response *r)
{
    cr_assert(r->status != 403,
              "%s: expected 404 for another user's resource, got 403 (which tells the caller it "
              "exists): %.*s",
              r->what, W4_SHOWN, r->body);
    tk_expect_problem(r, 404);
}

size_t w4_list_ids(struct tk_server *s, const char *auth, const char *query, long long *ids,
                   size_t max)
{
    size_t n = 0;
    char cursor[1024] = "";
    for (int page = 0; page < 1000; page++) {
        char path[2048], enc[1024];
        snprintf(path, sizeof path, "/tasks?%s%slimit=100", query, *query ? "&" : "");
        if (cursor[0]) {
            size_t used = strlen(path);
            snprintf(path + used, sizeof path - used, "&cursor=%s",
                     tk_urlencode(cursor, enc, sizeof enc));
        }
        struct tk_response *r = w4_as(s, auth, "GET", path, NULL);
        cr_assert(r->status == 200, "%s: expected 200, got %ld: %.*s", r->what, r->status, W4_SHOWN,
                  r->body);
        const cJSON *items = r->json ? cJSON_GetObjectItemCaseSensitive(r->json, "items") : NULL;
        cr_assert(cJSON_IsArray(items), "%s: expected {\"items\": [...]}, got: %.*s", r->what,
                  W4_SHOWN, r->body);
        const cJSON *item;
        cJSON_ArrayForEach(item, items)
        {
            const cJSON *id = cJSON_GetObjectItemCaseSensitive(item, "id");
            cr_assert(cJSON_IsNumber(id), "%s: an item without a numeric id: %.*s", r->what,
                      W4_SHOWN, r->body);
            cr_assert(n < max, "%s: more than %zu tasks listed", r->what, max);
            ids[n++] = (long long)id->valuedouble;
        }
        const cJSON *next = cJSON_GetObjectItemCaseSensitive(r->json, "next_cursor");
        bool more = cJSON_IsString(next);
        if (more)
            snprintf(cursor, sizeof cursor, "%s", next->valuestring);
        tk_response_free(r);
        if (!more)
            return n;
    }
    cr_assert_fail("GET /tasks?%s: still a next_cursor after 1000 pages", query);
    return n;
}

/* ------------------------------------------------------------------ resources */

long long w4_post_as(struct tk_server *s, const struct w4_user *u, const char *path,
                     const char *json, long want)
{
    struct tk_response *r = w4_as(s, u->auth, "POST", path, json);
    snprintf(r->what, sizeof r->what, "POST %s as %.100s", path, u->email);
    tk_expect_status(r, want);
    long long id = tk_json_int(r, "id");
    tk_response_free(r);
    return id;
}

struct tk_proc *w4_worker_start(struct tk_server *s, long start_ms)
{
    const char *prefix[] = {w4_private_queue_prefix(), NULL};
    const char *bin = tk_bin_beside("taskd-worker", "TASKD_WORKER_BIN");
    struct tk_proc *worker = tk_proc_start_beside(s, (const char *const[]){bin, NULL}, prefix);
    tk_proc_wait_log(worker, "\"worker started\"", start_ms);
    return worker;
}

void w4_job_wait_succeeded(struct tk_server *s, const struct w4_user *u, long long id,
                           long timeout_ms)
{
    char path[64];
    snprintf(path, sizeof path, "/jobs/%lld", id);
    long deadline = tk_now_ms() + timeout_ms;
    for (;;) {
        struct tk_response *r = w4_as(s, u->auth, "GET", path, NULL);
        snprintf(r->what, sizeof r->what, "GET %s as its owner", path);
        tk_expect_status(r, 200);
        const char *status = tk_json_str(r, "status");
        cr_assert(strcmp(status, "failed") != 0, "%s: the job failed: %.*s", r->what, W4_SHOWN,
                  r->body);
        bool done = strcmp(status, "succeeded") == 0;
        if (!done && tk_now_ms() >= deadline)
            cr_assert_fail("%s: expected \"succeeded\" within %ld ms, still: %.*s", r->what,
                           timeout_ms, W4_SHOWN, r->body);
        tk_response_free(r);
        if (done)
            return;
        tk_sleep_ms(50);
    }
}

/* ------------------------------------------------------------------ races */

static size_t keep_body(char *p, size_t size, size_t n, void *ctx)
{
    struct buf *b = ctx;
    return buf_append(b, p, size * n) == 0 ? size * n : 0;
}

/* One POST on a libcurl handle of its own; no assertions here (the test thread checks). */
static void *race(void *arg)
{
    struct w4_racer *rc = arg;
    struct buf body = BUF_INIT;
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!curl || !headers) {
        snprintf(rc->error, sizeof rc->error, "libcurl could not start");
        goto done;
    }
    curl_easy_setopt(curl, CURLOPT_URL, rc->url);
    tk_curl_tls(curl);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, rc->body);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, rc->timeout_ms > 0 ? rc->timeout_ms : 10000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
    tk_race_gate();
    CURLcode cc = curl_easy_perform(curl);
    if (cc != CURLE_OK) {
        snprintf(rc->error, sizeof rc->error, "%s", curl_easy_strerror(cc));
        goto done;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &rc->status);
    buf_append(&body, "", 0);
    cJSON *json = body.data ? cJSON_Parse(body.data) : NULL;
    const cJSON *t = json ? cJSON_GetObjectItemCaseSensitive(json, "refresh_token") : NULL;
    if (cJSON_IsString(t))
        snprintf(rc->refresh, sizeof rc->refresh, "%s", t->valuestring);
    cJSON_Delete(json);
done:
    curl_slist_free_all(headers);
    if (curl)
        curl_easy_cleanup(curl);
    buf_free(&body);
    return NULL;
}

void w4_race(struct w4_racer *racers, int n)
{
    cr_assert(n > 0 && n <= W4_RACERS_MAX, "test bug: %d racers (1..%d)", n, W4_RACERS_MAX);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread: it is not thread-safe */
    cr_assert(tk_race(n, race, racers, sizeof racers[0]) == 0,
              "test bug: could not start %d racing threads: %s", n, strerror(errno));
}

/* ------------------------------------------------------------------ from threads */

/* Keeps the value of Retry-After and Content-Type from the header lines libcurl passes. */
static size_t keep_header(char *p, size_t size, size_t n, void *ctx)
{
    struct w4_answer *a = ctx;
    size_t len = size * n;
    static const struct {
        const char *name;
        size_t off, cap;
    } wanted[] = {
        {"Retry-After:", offsetof(struct w4_answer, retry_after), sizeof a->retry_after},
        {"Content-Type:", offsetof(struct w4_answer, content_type), sizeof a->content_type},
    };
    for (size_t i = 0; i < sizeof wanted / sizeof wanted[0]; i++) {
        size_t nl = strlen(wanted[i].name);
        if (len <= nl || strncasecmp(p, wanted[i].name, nl) != 0)
            continue;
        const char *v = p + nl;
        size_t vl = len - nl;
        while (vl > 0 && (*v == ' ' || *v == '\t')) {
            v++;
            vl--;
        }
        while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
            vl--;
        snprintf((char *)a + wanted[i].off, wanted[i].cap, "%.*s", (int)vl, v);
    }
    return len;
}

static size_t drop_body(char *p, size_t size, size_t n, void *ctx)
{
    (void)p;
    (void)ctx;
    return size * n;
}

void w4_post_from(const char *url, const char *json, const char *iface, long timeout_ms,
                  struct w4_answer *out)
{
    *out = (struct w4_answer){0};
    CURL *curl = curl_easy_init();
    struct curl_slist *headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (!curl || !headers) {
        snprintf(out->error, sizeof out->error, "libcurl could not start");
        goto done;
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    tk_curl_tls(curl);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 10000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, drop_body);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, keep_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, out);
    if (iface)
        curl_easy_setopt(curl, CURLOPT_INTERFACE, iface);
    long long t0 = w4_now_us();
    CURLcode cc = curl_easy_perform(curl);
    out->ms = (double)(w4_now_us() - t0) / 1e3;
    if (cc != CURLE_OK) {
        snprintf(out->error, sizeof out->error, "%s", curl_easy_strerror(cc));
        goto done;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out->status);
done:
    curl_slist_free_all(headers);
    if (curl)
        curl_easy_cleanup(curl);
}

/* ------------------------------------------------------------------ tokens */

char *w4_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    cr_assert(f, "cannot open %s: %s", path, strerror(errno));
    struct buf b = BUF_INIT;
    char chunk[8192];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, f)) > 0)
        cr_assert(buf_append(&b, chunk, got) == 0, "out of memory reading %s", path);
    fclose(f);
    cr_assert(buf_append(&b, "", 0) == 0, "out of memory");
    return buf_steal(&b, NULL);
}

/* JWT_SECRET_FILE=<path> out of TASKD_ENV, or the default. */
static void secret_path(char *buf, size_t len)
{
    snprintf(buf, len, ".run/jwt-secret");
    const char *env = getenv("TASKD_ENV");
    const char *p = env ? strstr(env, "JWT_SECRET_FILE=") : NULL;
    if (p && (p == env || p[-1] == ' ')) {
        p += strlen("JWT_SECRET_FILE=");
        snprintf(buf, len, "%.*s", (int)strcspn(p, " "), p);
    }
}

size_t w4_secret(unsigned char *buf, size_t len)
{
    tk_need_local("the signing key, to forge and sign tokens");
    char path[512];
    secret_path(path, sizeof path);
    char *text = w4_read_file(path);
    size_t n = strlen(text);
    if (n > 0 && text[n - 1] == '\n')
        n--;
    cr_assert(n >= 32 && n <= len, "%s: expected a signing key of 32..%zu bytes, it has %zu", path,
              len, n);
    memcpy(buf, text, n);
    free(text);
    return n;
}

char *w4_b64url(const void *data, size_t len)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const unsigned char *in = data;
    char *out = malloc(len / 3 * 4 + 5);
    cr_assert(out, "out of memory");
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
        out[o++] = alphabet[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)in[i] << 16;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
    } else if (len - i == 2) {
        unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
        out[o++] = alphabet[v >> 18 & 63];
        out[o++] = alphabet[v >> 12 & 63];
        out[o++] = alphabet[v >> 6 & 63];
    }
    out[o] = '\0';
    return out;
}

char *w4_jwt(const char *header_json, const char *claims_json, int sha_bits,
             const unsigned char *key, size_t key_len)
{
    char *h = w4_b64url(header_json, strlen(header_json));
    char *c = w4_b64url(claims_json, strlen(claims_json));
    struct buf t = BUF_INIT;
    cr_assert(buf_printf(&t, "%s.%s", h, c) == 0, "out of memory");
    free(h);
    free(c);
    if (sha_bits) {
        cr_assert(sha_bits == 256 || sha_bits == 512, "test bug: HMAC-SHA-%d", sha_bits);
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned mac_len = 0;
        cr_assert(HMAC(sha_bits == 256 ? EVP_sha256() : EVP_sha512(), key, (int)key_len,
                       (const unsigned char *)t.data, t.len, mac, &mac_len),
                  "OpenSSL HMAC failed");
        char *sig = w4_b64url(mac, mac_len);
        cr_assert(buf_printf(&t, ".%s", sig) == 0, "out of memory");
        free(sig);
    } else {
        cr_assert(buf_append(&t, ".", 1) == 0, "out of memory");
    }
    return buf_steal(&t, NULL);
}

char *w4_jwt_ours(const char *claims_json)
{
    unsigned char key[1024];
    size_t key_len = w4_secret(key, sizeof key);
    return w4_jwt("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims_json, 256, key, key_len);
}

const char *w4_claims(long long id, long iat_offset, long exp_offset, char *buf, size_t len)
{
    long long now = w4_epoch_s();
    snprintf(buf, len,
             "{\"sub\":\"%lld\",\"iat\":%lld,\"exp\":%lld,\"iss\":\"taskd\","
             "\"jti\":\"%08lx%08lx%016llx\"}",
             id, now + iat_offset, now + exp_offset, (long)getpid(), (long)random(), now);
    return buf;
}

cJSON *w4_jwt_payload(const char *token)
{
    const char *dot1 = strchr(token, '.');
    const char *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    cr_assert(dot1 && dot2 && !strchr(dot2 + 1, '.') && dot2[1],
              "expected an access token of three parts (header.claims.signature), got \"%.80s\"",
              token);
    size_t n = 0;
    unsigned char *json = tk_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), &n);
    cr_assert(json, "the access token's claims are not base64url: \"%.80s\"", token);
    cJSON *claims = cJSON_ParseWithLength((const char *)json, n);
    cr_assert(cJSON_IsObject(claims), "the access token's claims are not a JSON object: %.200s",
              json);
    free(json);
    return claims;
}

long long w4_epoch_s(void)
{
    return (long long)time(NULL);
}

long long w4_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

/* ------------------------------------------------------------------ outside HTTP */

void w4_psql(const char *url, const char *sql, char *out, size_t len)
{
    pg_api_psql(url, sql, out, len);
}

const char *w4_fresh_db(char *url, size_t len)
{
    return pg_api_fresh_db(url, len);
}

void w4_drop_db(const char *url)
{
    const char *cmd = getenv("TK_DROP_DB_CMD");
    const char *slash = url ? strrchr(url, '/') : NULL;
    if (!cmd || !*cmd || !slash)
        return;
    char name[128], script[512];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(slash + 1, "?"), slash + 1);
    snprintf(script, sizeof script, "%s \"$1\" >/dev/null 2>&1", cmd);
    const char *argv[] = {"/bin/sh", "-c", script, "sh", name, NULL};
    tk_run(argv, NULL, NULL, 0);
}
