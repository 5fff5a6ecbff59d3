/* api_w3_helpers.c — the helpers of week 3's black-box suites (see api_w3_helpers.h). Linked
 * into the week-3 suite with the api_*.c files; it defines no tests. */
#include "api_w3_helpers.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_helpers.h"
#include "api_pg_helpers.h"

#define SHOWN 300 /* body characters quoted in a failure message */

/* ------------------------------------------------------------------ servers */

static struct tk_server *private_server;

struct tk_server *w3_private(const char *const *settings)
{
    for (size_t i = 0; settings && settings[i]; i++) {
        const char *eq = strchr(settings[i], '=');
        cr_assert(eq && eq != settings[i], "test bug: \"%s\" is not NAME=value", settings[i]);
        char name[128];
        cr_assert((size_t)(eq - settings[i]) < sizeof name, "test bug: setting name too long");
        snprintf(name, sizeof name, "%.*s", (int)(eq - settings[i]), settings[i]);
        cr_assert(setenv(name, eq + 1, 1) == 0, "test bug: setenv %s failed", name);
    }
    private_server = tk_server_start(NULL);
    return private_server;
}

void w3_private_fini(void)
{
    tk_server_stop(private_server);
    private_server = NULL;
}

/* ------------------------------------------------------------------ tasks and X-Cache */

/* One GET /tasks/<id>: 200, an X-Cache of HIT or MISS (*x points into buf), the task of that id,
 * and the ETag of the body's version (a cache that kept one but not the other shows here). */
static struct tk_response *get_checked(struct tk_server *s, long long id, char *buf, size_t size,
                                       const char **x)
{
    char path[64];
    struct tk_response *r = tk_get(s, api_task_path(id, path, sizeof path));
    cr_assert(r->status == 200, "%s: expected 200, got %ld: %.*s", r->what, r->status, SHOWN,
              r->body);
    *x = tk_header(r, "X-Cache", buf, size);
    cr_assert(*x, "%s: expected an X-Cache header (HIT or MISS) on the 200, there is none",
              r->what);
    cr_assert(strcmp(*x, "HIT") == 0 || strcmp(*x, "MISS") == 0,
              "%s: expected X-Cache HIT or MISS, got \"%s\"", r->what, *x);
    cr_assert(tk_json_int(r, "id") == id, "%s: expected the task with id %lld, got: %.*s", r->what,
              id, SHOWN, r->body);
    char etag[64], want_etag[64];
    snprintf(want_etag, sizeof want_etag, "\"%lld\"", tk_json_int(r, "version"));
    const char *e = tk_header(r, "ETag", etag, sizeof etag);
    cr_assert(e && strcmp(e, want_etag) == 0,
              "%s: expected ETag %s (the body's version), got %s (X-Cache: %s)", r->what, want_etag,
              e ? e : "none", *x);
    return r;
}

struct tk_response *w3_get_task(struct tk_server *s, long long id, const char *want)
{
    char got[64];
    const char *x = NULL;
    struct tk_response *r = get_checked(s, id, got, sizeof got, &x);
    /* A MISS where a HIT is due is read again for a while: the service may skip the cache for a
     * moment by design (a Redis call past its deadline, a view of the cache fence that a slow
     * database let age, both seen on a loaded 2-core CI machine), and a MISS is always served
     * from the database, so it hides nothing stale. A cache that never serves it still fails. */
    long start = tk_now_ms();
    int reads = 1;
    while (want && strcmp(want, "HIT") == 0 && strcmp(x, "MISS") == 0 &&
           tk_now_ms() - start < W3_HIT_PATIENCE_MS) {
        tk_response_free(r);
        tk_sleep_ms(100);
        r = get_checked(s, id, got, sizeof got, &x);
        reads++;
    }
    if (want)
        cr_assert(strcmp(x, want) == 0,
                  "%s: expected X-Cache: %s, got X-Cache: %s (%d read%s in %ld ms; body %.*s)",
                  r->what, want, x, reads, reads > 1 ? "s" : "", tk_now_ms() - start, SHOWN,
                  r->body);
    return r;
}

long long w3_read_version(struct tk_server *s, long long id, const char *want)
{
    struct tk_response *r = w3_get_task(s, id, want);
    long long v = tk_json_int(r, "version");
    tk_response_free(r);
    return v;
}

long long w3_patch_title(struct tk_server *s, long long id, const char *title)
{
    char body[256];
    snprintf(body, sizeof body, "{\"title\":\"%s\"}", title);
    struct tk_response *r = api_patch_if_match(s, id, body, NULL);
    cr_assert(r->status == 200, "%s %s: expected 200, got %ld: %.*s", r->what, body, r->status,
              SHOWN, r->body);
    tk_expect_no_header(r, "X-Cache");
    tk_expect_json_str(r, "title", title);
    long long v = tk_json_int(r, "version");
    tk_response_free(r);
    return v;
}

/* ------------------------------------------------------------------ readiness */

void w3_expect_ready_check(struct tk_server *s, const char *name, const char *want)
{
    struct tk_response *r = tk_get(s, "/ready");
    cr_assert(r->status == 200,
              "%s: expected 200 (only the database is required; the cache and the queue are "
              "optional), got %ld: %.*s",
              r->what, r->status, SHOWN, r->body);
    const cJSON *checks = cJSON_GetObjectItemCaseSensitive(r->json, "checks");
    cr_assert(cJSON_IsObject(checks), "%s: expected a \"checks\" object, got: %.*s", r->what, SHOWN,
              r->body);
    const cJSON *line = cJSON_GetObjectItemCaseSensitive(checks, name);
    if (want)
        cr_assert(cJSON_IsString(line) && strcmp(line->valuestring, want) == 0,
                  "%s: expected \"checks\": {\"%s\": \"%s\", ...}, got: %.*s", r->what, name, want,
                  SHOWN, r->body);
    else
        cr_assert(!line, "%s: expected no \"%s\" line in checks, got: %.*s", r->what, name, SHOWN,
                  r->body);
    tk_response_free(r);
}

/* ------------------------------------------------------------------ a Redis of the test's own */

void w3_services(const char *run_dir, const char *command, const char *service)
{
    pg_api_services(run_dir, command, service, NULL, 0);
}

/* The value of NAME=value in the file at path, into out; false when there is no such line. */
static bool env_file_value(const char *path, const char *name, char *out, size_t len)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    char line[1024];
    size_t name_len = strlen(name);
    bool found = false;
    while (!found && fgets(line, sizeof line, f)) {
        if (strncmp(line, name, name_len) == 0 && line[name_len] == '=') {
            snprintf(out, len, "%.*s", (int)strcspn(line + name_len + 1, "\r\n"),
                     line + name_len + 1);
            found = true;
        }
    }
    fclose(f);
    return found;
}

/* A test process that was killed (a timeout, a runner that died) never ran its clean-up, and
 * its Redis, a daemon, outlives it. Each run directory names its owner; a directory of this tag
 * whose owner is gone is destroyed before a new one is made. */
static void sweep_orphans(const char *tag)
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "taskd-%s-", tag);
    DIR *tmp = opendir("/tmp");
    if (!tmp)
        return;
    for (struct dirent *e = readdir(tmp); e; e = readdir(tmp)) {
        if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
            continue;
        char dir[300], owner_path[320];
        snprintf(dir, sizeof dir, "/tmp/%s", e->d_name);
        snprintf(owner_path, sizeof owner_path, "%s/owner.pid", dir);
        FILE *f = fopen(owner_path, "r");
        long pid = 0;
        if (f) {
            if (fscanf(f, "%ld", &pid) != 1)
                pid = 0;
            fclose(f);
        }
        if (pid > 0 && kill((pid_t)pid, 0) != 0 && errno == ESRCH)
            w3_redis_destroy(dir);
    }
    closedir(tmp);
}

void w3_redis_start(const char *tag, char *run_dir, size_t run_dir_len, char *url, size_t url_len)
{
    sweep_orphans(tag);
    snprintf(run_dir, run_dir_len, "/tmp/taskd-%s-XXXXXX", tag);
    if (!mkdtemp(run_dir)) {
        run_dir[0] = '\0';
        cr_assert_fail("test bug: mkdtemp for the Redis run directory failed");
    }
    /* If the test is killed (its time limit), prune-test-dbs stops this Redis. */
    if (tk_run_dir_claim(run_dir) != 0)
        fprintf(stderr, "w3: cannot write %s/owner: a killed test would leak it\n", run_dir);
    char owner_path[256];
    snprintf(owner_path, sizeof owner_path, "%s/owner.pid", run_dir);
    FILE *owner = fopen(owner_path, "w");
    cr_assert(owner, "test bug: cannot write %s", owner_path);
    fprintf(owner, "%ld\n", (long)getpid());
    fclose(owner);
    w3_services(run_dir, "up", "redis");
    char env_path[256];
    snprintf(env_path, sizeof env_path, "%s/services.env", run_dir);
    cr_assert(env_file_value(env_path, "REDIS_URL", url, url_len) &&
                  strncmp(url, "redis://", 8) == 0,
              "services.sh up redis (TASKD_RUN_DIR=%s): expected a REDIS_URL=redis://... line in "
              "%s",
              run_dir, env_path);
}

int w3_redis_destroy(char *run_dir)
{
    return pg_api_cluster_destroy(run_dir);
}
