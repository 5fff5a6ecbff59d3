/* api_pg_helpers.c — the PostgreSQL-side helpers of week 2's black-box suites (see
 * api_pg_helpers.h). Linked into the week-2 suite with the api_*.c files; it defines no tests. */
#include "api_pg_helpers.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testkit.h"

#define PSQL_OUT_LEN 16384

const char *pg_api_last_line(const char *out, char *buf, size_t len)
{
    const char *end = out + strlen(out);
    while (end > out && (end[-1] == '\n' || end[-1] == '\r'))
        end--;
    const char *start = end;
    while (start > out && start[-1] != '\n')
        start--;
    snprintf(buf, len, "%.*s", (int)(end - start), start);
    return buf;
}

/* The last line of out that starts with "postgres" (anything else is chatter), into url; NULL
 * when there is none. */
static const char *last_url(const char *out, char *url, size_t len)
{
    const char *found = NULL;
    for (const char *line = out; *line;) {
        if (strncmp(line, "postgres", 8) == 0)
            found = line;
        const char *eol = strchr(line, '\n');
        if (!eol)
            break;
        line = eol + 1;
    }
    if (!found)
        return NULL;
    snprintf(url, len, "%.*s", (int)strcspn(found, "\r\n"), found);
    return url;
}

const char *pg_api_url_password(const char *url, char *buf, size_t len)
{
    buf[0] = '\0';
    const char *scheme = strstr(url, "://");
    const char *at = scheme ? strchr(scheme + 3, '@') : NULL;
    const char *colon = scheme ? strchr(scheme + 3, ':') : NULL;
    if (at && colon && colon < at)
        snprintf(buf, len, "%.*s", (int)(at - colon - 1), colon + 1);
    return buf;
}

void pg_api_psql(const char *url, const char *sql, char *out, size_t len)
{
    const char *argv[] = {"/usr/bin/env",    "psql", "-X", "-A", "-t", "-v",
                          "ON_ERROR_STOP=1", url,    "-c", sql,  NULL};
    char buf[PSQL_OUT_LEN];
    int rc = tk_run(argv, NULL, buf, sizeof buf);
    cr_assert(rc == 0, "psql -c \"%s\" failed (exit %d): %s", sql, rc, buf);
    size_t k = strlen(buf);
    while (k > 0 && (buf[k - 1] == '\n' || buf[k - 1] == '\r'))
        buf[--k] = '\0';
    if (out)
        snprintf(out, len, "%s", buf);
}

const char *pg_api_fresh_db(char *url, size_t len)
{
    tk_need_local("a database of its own");
    const char *cmd = getenv("TK_FRESH_DB_CMD");
    cr_assert(cmd && *cmd, "TK_FRESH_DB_CMD is not set: these tests need a new database each");
    char out[2048];
    const char *argv[] = {"/bin/bash", "-c", cmd, NULL};
    int rc = tk_run(argv, NULL, out, sizeof out);
    cr_assert(rc == 0, "TK_FRESH_DB_CMD (%s): expected exit 0 and a URL, got %d:\n%s", cmd, rc,
              out);
    cr_assert(last_url(out, url, len), "TK_FRESH_DB_CMD (%s): expected a postgres URL, got:\n%s",
              cmd, out);
    return url;
}

void pg_api_services(const char *run_dir, const char *command, const char *service, char *out,
                     size_t out_len)
{
    char local[4096], env[128];
    if (!out) {
        out = local;
        out_len = sizeof local;
    }
    snprintf(env, sizeof env, "TASKD_RUN_DIR=%s", run_dir);
    const char *argv[] = {"/bin/bash", PG_API_SERVICES_SH, command, service, NULL};
    int rc = tk_run(argv, (const char *const[]){env, NULL}, out, out_len);
    cr_assert(rc == 0, "services.sh %s %s (TASKD_RUN_DIR=%s): expected exit 0, got %d: %.600s",
              command, service ? service : "", run_dir, rc, out);
}

void pg_api_cluster_start(const char *tag, char *run_dir, size_t run_dir_len, char *url,
                          size_t url_len)
{
    snprintf(run_dir, run_dir_len, "/tmp/taskd-%s-XXXXXX", tag);
    if (!mkdtemp(run_dir)) {
        run_dir[0] = '\0';
        cr_assert_fail("test bug: mkdtemp for the cluster's run directory failed");
    }
    /* If the test is killed (its time limit), prune-test-dbs stops this cluster. */
    if (tk_run_dir_claim(run_dir) != 0)
        fprintf(stderr, "pg_api: cannot write %s/owner: a killed test would leak it\n", run_dir);
    pg_api_services(run_dir, "up", "postgres", NULL, 0);
    char out[4096];
    pg_api_services(run_dir, "fresh-db", NULL, out, sizeof out);
    cr_assert(last_url(out, url, url_len),
              "services.sh fresh-db printed no postgres:// URL: %.600s", out);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path); /* best effort: keep going */
    return 0;
}

int pg_api_cluster_destroy(char *run_dir)
{
    if (!run_dir[0])
        return 0;
    char env[128];
    snprintf(env, sizeof env, "TASKD_RUN_DIR=%s", run_dir);
    const char *argv[] = {"/usr/bin/env", env, "/bin/bash", PG_API_SERVICES_SH, "destroy", NULL};
    int status = -1;
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        status = -1;
    int rc = 0;
    if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "pg_api: services.sh destroy failed (run dir %s)\n", run_dir);
        rc = -1;
    }
    nftw(run_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    run_dir[0] = '\0';
    return rc;
}
