/* api_idempotency.c — black-box tests of Idempotency-Key on POST /tasks and POST /exports
 * (API.md, "Idempotency").
 *
 * A client that sent a POST and got no answer (a timeout, a dropped connection, a 503 after the
 * row was committed) cannot tell whether it wrote. With an Idempotency-Key it sends the same
 * request again and gets the first answer back, marked Idempotent-Replayed: true, and nothing is
 * written twice. Every test uses keys and titles of its own (the shared server's keys live for
 * 24 hours, and under stage 3 every caller is the same anonymous owner). The suite runs again
 * against stage 4, where the kit signs in and keys belong to that user. */
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api_helpers.h"
#include "buf.h"
#include "testkit.h"
#include "tk_race.h"

#define SHOWN   300 /* body characters quoted in a failure message */
#define THREADS 8

/* A key no other test (or earlier run on the same database) has used. */
static void unique_key(char *out, size_t len, const char *tag)
{
    static unsigned n;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    snprintf(out, len, "%s-%ld-%lld%09ld-%u", tag, (long)getpid(), (long long)ts.tv_sec, ts.tv_nsec,
             n++);
}

/* A fresh key and task title of this test (key[80], title[96]); returns the POST /tasks body
 * for that title (the caller frees it). */
static char *fresh_request(char *key, char *title, const char *key_tag)
{
    unique_key(key, 80, key_tag);
    unique_key(title, 96, "idem");
    return api_format("{\"title\":\"%s\"}", title);
}

static struct tk_response *post_with_key(struct tk_server *s, const char *path, const char *json,
                                         const char *key)
{
    char header[256];
    /* libcurl drops "Name:" with nothing after the colon; "Name;" is how it sends an empty one. */
    if (key[0])
        snprintf(header, sizeof header, "Idempotency-Key: %s", key);
    else
        snprintf(header, sizeof header, "Idempotency-Key;");
    return api_send(s, "POST", path, json ? "application/json" : NULL, json,
                    json ? strlen(json) : 0, header);
}

/* How many tasks match the unique title (GET /tasks?q=title). */
static int count_titled(struct tk_server *s, const char *title)
{
    char *q = api_format("q=%s&limit=100", title);
    struct tk_response *r = api_list(s, q);
    int n = cJSON_GetArraySize(cJSON_GetObjectItem(r->json, "items"));
    tk_response_free(r);
    free(q);
    return n;
}

/* r2 is r1 again: same status, body, Location and ETag, and marked as replayed. */
static void expect_replay_of(const struct tk_response *r1, const struct tk_response *r2)
{
    cr_assert(r2->status == r1->status, "%s again: expected the stored %ld, got %ld: %.*s",
              r2->what, r1->status, r2->status, SHOWN, r2->body);
    cr_assert(r2->body_len == r1->body_len && memcmp(r1->body, r2->body, r1->body_len) == 0,
              "%s again: expected the stored body %.*s, got %.*s", r2->what, SHOWN, r1->body, SHOWN,
              r2->body);
    static const char *const names[] = {"Location", "ETag"};
    for (size_t i = 0; i < 2; i++) {
        char a[256], b[256];
        const char *va = tk_header(r1, names[i], a, sizeof a);
        const char *vb = tk_header(r2, names[i], b, sizeof b);
        cr_assert((!va && !vb) || (va && vb && strcmp(va, vb) == 0),
                  "%s again: expected %s: %s as the first time, got %s", r2->what, names[i],
                  va ? va : "none", vb ? vb : "none");
    }
    tk_expect_header(r2, "Idempotent-Replayed", "true");
}

GRADED(idempotency, a_repeated_post_tasks_replays_the_first_answer_and_writes_nothing, 3)
{
    struct tk_server *s = tk_shared();
    char key[80], title[96];
    char *json = fresh_request(key, title, "k");

    struct tk_response *r1 = post_with_key(s, "/tasks", json, key);
    cr_assert(r1->status == 201, "%s: expected 201, got %ld: %.*s", r1->what, r1->status, SHOWN,
              r1->body);
    char loc[256], etag[64];
    cr_assert(tk_header(r1, "Location", loc, sizeof loc), "%s: expected a Location", r1->what);
    cr_assert(tk_header(r1, "ETag", etag, sizeof etag), "%s: expected an ETag", r1->what);
    char replayed[16];
    cr_assert(!tk_header(r1, "Idempotent-Replayed", replayed, sizeof replayed),
              "%s: the first answer is not a replay, yet says Idempotent-Replayed: %s", r1->what,
              replayed);

    for (int i = 0; i < 2; i++) {
        struct tk_response *r2 = post_with_key(s, "/tasks", json, key);
        expect_replay_of(r1, r2);
        tk_response_free(r2);
    }
    cr_assert(count_titled(s, title) == 1,
              "three POST /tasks with one Idempotency-Key: expected one task titled %s, got %d",
              title, count_titled(s, title));
    tk_response_free(r1);
    free(json);
}

GRADED(idempotency, the_same_key_with_another_body_is_422, 1)
{
    struct tk_server *s = tk_shared();
    char key[80], title[96];
    char *json = fresh_request(key, title, "k");
    char *other = api_format("{\"title\":\"%s-other\"}", title);
    struct tk_response *r = post_with_key(s, "/tasks", json, key);
    tk_expect_status(r, 201);
    tk_response_free(r);
    r = post_with_key(s, "/tasks", other, key);
    tk_expect_problem(r, 422);
    tk_response_free(r);
    /* Another route is another request too. */
    r = post_with_key(s, "/exports", NULL, key);
    tk_expect_problem(r, 422);
    tk_response_free(r);
    cr_assert(count_titled(s, title) == 1, "expected one task titled %s, got %d", title,
              count_titled(s, title));
    free(json);
    free(other);
}

GRADED(idempotency, a_key_that_is_empty_too_long_or_has_other_characters_is_400, 1)
{
    struct tk_server *s = tk_shared();
    char *long_key = api_repeat("a", 65);
    const char *bad[] = {"", long_key, "a b", "k.1", "ключ", "k/1", NULL};
    for (size_t i = 0; bad[i]; i++) {
        char title[96];
        unique_key(title, sizeof title, "idem");
        char *json = api_format("{\"title\":\"%s\"}", title);
        struct tk_response *r = post_with_key(s, "/tasks", json, bad[i]);
        cr_assert(r->status == 400,
                  "POST /tasks with Idempotency-Key \"%s\": expected 400, got %ld", bad[i],
                  r->status);
        tk_expect_problem(r, 400);
        tk_response_free(r);
        cr_assert(count_titled(s, title) == 0,
                  "POST /tasks with the bad key \"%s\" was refused, yet made a task", bad[i]);
        free(json);
    }
    /* 64 characters of the whole alphabet are fine (the tail keeps the key unique). */
    char *ok_key = api_repeat("aZ09_-xY", 8);
    unique_key(ok_key + 40, 25, "");
    struct tk_response *r = post_with_key(s, "/tasks", "{\"title\":\"sixty-four\"}", ok_key);
    cr_assert(r->status == 201, "%s with a %zu-character key: expected 201, got %ld: %.*s", r->what,
              strlen(ok_key), r->status, SHOWN, r->body);
    tk_response_free(r);
    free(ok_key);
    free(long_key);
}

GRADED(idempotency, a_repeated_post_exports_returns_the_same_job, 1)
{
    struct tk_server *s = tk_shared();
    char key[80];
    unique_key(key, sizeof key, "x");
    struct tk_response *r1 = post_with_key(s, "/exports", NULL, key);
    cr_assert(r1->status == 202, "%s: expected 202, got %ld: %.*s", r1->what, r1->status, SHOWN,
              r1->body);
    struct tk_response *r2 = post_with_key(s, "/exports", NULL, key);
    expect_replay_of(r1, r2);
    cr_assert(tk_json_int(r1, "id") == tk_json_int(r2, "id"), "expected the same job twice");
    tk_response_free(r1);
    tk_response_free(r2);
    /* Without a key, POST is not idempotent: a second job. */
    r1 = post_with_key(s, "/exports", NULL, "y");
    r2 = api_send(s, "POST", "/exports", NULL, NULL, 0, NULL);
    cr_assert(r2->status == 202 && tk_json_int(r2, "id") != tk_json_int(r1, "id"),
              "POST /exports without a key: expected a new job");
    tk_response_free(r1);
    tk_response_free(r2);
}

/* ---- keys belong to the caller (stage 4 on) ---- */

/* Registers and logs in a second user (under TK_AUTH); writes "Authorization: Bearer ..." into
 * out. */
static void second_user_auth(struct tk_server *s, char *out, size_t len)
{
    char *body = api_format("{\"email\":\"idem-b-%ld@example.com\","
                            "\"password\":\"idem-password-%ld\"}",
                            (long)getpid(), (long)getpid());
    struct tk_response *r = tk_post_json(s, "/auth/register", body);
    cr_assert(r->status == 201 || r->status == 409, "%s: expected 201, got %ld", r->what,
              r->status);
    tk_response_free(r);
    r = tk_post_json(s, "/auth/login", body);
    tk_expect_status(r, 200);
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(r->json, "access_token");
    cr_assert(cJSON_IsString(tok), "%s: expected an access_token", r->what);
    snprintf(out, len, "Authorization: Bearer %s", tok->valuestring);
    tk_response_free(r);
    free(body);
}

GRADED(idempotency, under_users_one_users_key_never_replays_anothers_answer, 1)
{
    const char *auth = getenv("TK_AUTH");
    if (!auth || strcmp(auth, "1") != 0)
        return; /* stage 3 has one anonymous caller: nothing to tell apart */
    struct tk_server *s = tk_shared();
    char key[80], title[96], other_auth[2048], key_line[128];
    char *json = fresh_request(key, title, "u");
    second_user_auth(s, other_auth, sizeof other_auth);
    struct tk_response *mine = post_with_key(s, "/tasks", json, key);
    tk_expect_status(mine, 201);
    snprintf(key_line, sizeof key_line, "Idempotency-Key: %s", key);
    const char *headers[] = {"Content-Type: application/json", key_line, other_auth, NULL};
    struct tk_response *theirs = tk_request(s, "POST", "/tasks", headers, json, strlen(json));
    cr_assert(theirs->status == 201,
              "POST /tasks as another user with the same key: expected a "
              "201 of its own, got %ld: %.*s",
              theirs->status, SHOWN, theirs->body);
    char replayed[16];
    cr_assert(!tk_header(theirs, "Idempotent-Replayed", replayed, sizeof replayed) &&
                  tk_json_int(theirs, "id") != tk_json_int(mine, "id"),
              "another user's request with the same key got the first user's task %lld replayed",
              tk_json_int(mine, "id"));
    tk_response_free(mine);
    tk_response_free(theirs);
    free(json);
}

/* ---- simultaneous first requests ---- */

struct racer {
    const char *url;
    const char *json;
    const char *key;
    long status;
    long long id;     /* of the task in a 201, else 0 */
    char answer[200]; /* the start of the body, for the failure message */
};

static void *race(void *arg)
{
    struct racer *r = arg;
    r->status = -1;
    CURL *h = curl_easy_init();
    if (!h)
        return NULL;
    char line[128];
    snprintf(line, sizeof line, "Idempotency-Key: %s", r->key);
    struct curl_slist *headers = tk_curl_auth(curl_slist_append(NULL, "Expect:"));
    headers = curl_slist_append(headers, "Content-Type: application/json");
    headers = curl_slist_append(headers, line);
    struct buf body = BUF_INIT;
    tk_curl_collect(h, r->url, headers, &body, NULL);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, r->json);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(r->json));
    tk_race_gate();
    if (curl_easy_perform(h) == CURLE_OK)
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r->status);
    if (buf_append(&body, "", 1) == 0)
        snprintf(r->answer, sizeof r->answer, "%s", body.data);
    if (r->status == 201 && body.data) {
        cJSON *j = cJSON_Parse(body.data);
        const cJSON *id = cJSON_GetObjectItem(j, "id");
        r->id = cJSON_IsNumber(id) ? (long long)id->valuedouble : 0;
        cJSON_Delete(j);
    }
    buf_free(&body);
    curl_slist_free_all(headers);
    curl_easy_cleanup(h);
    return NULL;
}

GRADED(idempotency, simultaneous_requests_with_one_key_make_one_task, 2)
{
    struct tk_server *s = tk_shared();
    char key[80], title[96], url[256];
    char *json = fresh_request(key, title, "race");
    snprintf(url, sizeof url, "%s/tasks", tk_server_url(s));
    struct racer racers[THREADS];
    for (int i = 0; i < THREADS; i++)
        racers[i] = (struct racer){.url = url, .json = json, .key = key};
    cr_assert(tk_race(THREADS, race, racers, sizeof racers[0]) == 0,
              "test bug: could not start %d racing threads: %s", THREADS, strerror(errno));

    /* Each answer is the task (first or replayed) or 409 (the first was still running); every
     * 201 names the same task, and only one task exists. */
    long long id = 0;
    for (int i = 0; i < THREADS; i++) {
        cr_assert(racers[i].status == 201 || racers[i].status == 409,
                  "simultaneous POST /tasks with one key: expected 201 or 409, got %ld: %s",
                  racers[i].status, racers[i].answer);
        if (racers[i].status != 201)
            continue;
        cr_assert(racers[i].id > 0, "a 201 without a task id");
        cr_assert(id == 0 || racers[i].id == id,
                  "simultaneous POST /tasks with one key: two tasks were made (%lld and %lld)", id,
                  racers[i].id);
        id = racers[i].id;
    }
    cr_assert(id > 0, "simultaneous POST /tasks with one key: no request made the task");
    cr_assert(count_titled(s, title) == 1, "expected one task titled %s, got %d", title,
              count_titled(s, title));
    free(json);
}
