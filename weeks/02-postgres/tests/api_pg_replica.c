/* api_pg_replica.c — a black-box test of weeks/02-postgres/scripts/replica.sh: a task written
 * through the API on the primary shows up on the streaming hot standby within seconds, and the
 * standby refuses writes.
 *
 * It builds a world of its own so suites running in parallel never see it: a PostgreSQL cluster
 * in a temporary run directory (TASKD_RUN_DIR, services.sh up), a test database there, a private
 * server on it, then replica.sh up — a base backup of that cluster started as a standby. The
 * standby is read with psql as taskd over TCP (the password in the environment, never on a
 * command line). Everything is torn down (server, standby, cluster, directory) by one idempotent
 * cleanup, run by .fini and registered with atexit, so a failed assertion leaves no postgres
 * processes behind. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "api_helpers.h"
#include "api_pg_helpers.h"
#include "testkit.h"

#define SERVICES_SH PG_API_SERVICES_SH
#define REPLICA_SH  "weeks/02-postgres/scripts/replica.sh"
#define WAIT_MS     10000

static char run_dir[64]; /* the test's cluster, "" when none */
static struct tk_server *server;

/* Runs argv with stdout/stderr to our stderr; for the cleanup, which must not assert. */
static int run_quiet(const char *const *argv)
{
    pid_t pid = fork();
    if (pid == 0) {
        dup2(STDERR_FILENO, STDOUT_FILENO);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Server, standby, cluster, directory — in that order, once. */
static void replica_cleanup(void)
{
    if (!run_dir[0])
        return;
    tk_server_stop(server);
    server = NULL;
    setenv("TASKD_RUN_DIR", run_dir, 1);
    const char *down[] = {"/bin/bash", REPLICA_SH, "down", NULL};
    if (run_quiet(down) != 0)
        fprintf(stderr, "replica test: replica.sh down failed (run dir %s)\n", run_dir);
    pg_api_cluster_destroy(run_dir);
}

/* Runs a script of the repository with TASKD_RUN_DIR set (in our environment: tk_run would put
 * an extra setting after an inherited one, which then wins); expects exit 0. */
static void run_script(const char *script, const char *arg, char *out, size_t len)
{
    const char *argv[] = {"/bin/bash", script, arg, NULL};
    int rc = tk_run(argv, NULL, out, len);
    cr_assert(rc == 0, "TASKD_RUN_DIR=%s bash %s %s: expected exit 0, got %d:\n%s", run_dir, script,
              arg, rc, out);
}

/* STANDBY_URL=postgres://taskd:PASSWORD@127.0.0.1:PORT/... from <run dir>/standby.env. */
static void read_standby(char *password, size_t pw_len, char *port, size_t port_len)
{
    char path[128], line[512];
    snprintf(path, sizeof path, "%s/standby.env", run_dir);
    FILE *f = fopen(path, "r");
    cr_assert(f, "replica.sh up: expected it to write %s", path);
    password[0] = port[0] = '\0';
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "STANDBY_URL=postgres://", 23) != 0)
            continue;
        const char *user = line + 23, *colon = strchr(user, ':'), *at = strrchr(user, '@');
        const char *pcolon = at ? strchr(at, ':') : NULL,
                   *slash = pcolon ? strchr(pcolon, '/') : NULL;
        if (colon && at && colon < at && pcolon && slash) {
            snprintf(password, pw_len, "%.*s", (int)(at - colon - 1), colon + 1);
            snprintf(port, port_len, "%.*s", (int)(slash - pcolon - 1), pcolon + 1);
        }
    }
    fclose(f);
    cr_assert(password[0] && port[0],
              "%s: expected a line STANDBY_URL=postgres://taskd:<password>@127.0.0.1:<port>/<db>",
              path);
}

/* psql -c sql on the standby's database db as taskd; returns psql's exit status. */
static int standby_sql(const char *port, const char *db, const char *sql, char *out, size_t len)
{
    const char *argv[] = {"/bin/bash", "-c",
                          "exec \"$(bash " SERVICES_SH
                          " pg-bin)/psql\" -X -q -At -w -v ON_ERROR_STOP=1 "
                          "-h 127.0.0.1 -p \"$SB_PORT\" -U taskd -d \"$SB_DB\" -c \"$SB_SQL\"",
                          NULL};
    char p[64], d[256], s[1024];
    snprintf(p, sizeof p, "SB_PORT=%s", port);
    snprintf(d, sizeof d, "SB_DB=%s", db);
    snprintf(s, sizeof s, "SB_SQL=%s", sql);
    const char *env[] = {p, d, s, NULL};
    return tk_run(argv, env, out, len);
}

GRADED(replica, the_standby_sees_a_primary_write, 3, .fini = replica_cleanup)
{
    cr_assert(access(REPLICA_SH, R_OK) == 0 && access(SERVICES_SH, R_OK) == 0,
              "expected %s and %s (run the suite from the repository root)", REPLICA_SH,
              SERVICES_SH);
    atexit(replica_cleanup);

    /* An isolated primary, a test database in it, and a server on that database. */
    char out[16384], url[512];
    pg_api_cluster_start("replica", run_dir, sizeof run_dir, url, sizeof url);
    setenv("TASKD_RUN_DIR", run_dir, 1);
    const char *db = strrchr(url, '/') + 1;
    char dbenv[600];
    snprintf(dbenv, sizeof dbenv, "DATABASE_URL=%s", url);
    const char *env[] = {dbenv, NULL};
    server = tk_server_start(env);

    run_script(REPLICA_SH, "up", out, sizeof out);
    char password[256], port[16];
    read_standby(password, sizeof password, port, sizeof port);
    setenv("PGPASSWORD", password, 1);

    char title[128];
    tk_unique("replicated", title, sizeof title);
    char *body = api_format("{\"title\":\"%s\"}", title);
    long long id = tk_create_task(server, body);
    free(body);

    /* The row, read on the standby, within WAIT_MS. */
    char sql[512], got[4096] = "";
    snprintf(sql, sizeof sql, "SELECT id FROM tasks WHERE title = '%s'", title);
    long start = tk_now_ms(), waited = 0;
    int rc = -1;
    char want[32];
    snprintf(want, sizeof want, "%lld", id);
    while ((waited = tk_now_ms() - start) <= WAIT_MS) {
        rc = standby_sql(port, db, sql, got, sizeof got);
        got[strcspn(got, "\n")] = '\0';
        if (rc == 0 && strcmp(got, want) == 0)
            break;
        usleep(20 * 1000);
    }
    cr_assert(rc == 0 && strcmp(got, want) == 0,
              "task %lld \"%s\" created on the primary: expected the standby (127.0.0.1:%s, "
              "database %s) to show it within %d ms; last psql exit %d, output: %s",
              id, title, port, db, WAIT_MS, rc, got);

    /* A hot standby answers reads only. */
    rc = standby_sql(port, db,
                     "INSERT INTO tasks (owner_id, title, status, priority, version, created_at, "
                     "updated_at) VALUES (1, 'written on the standby', 'todo', 1, 1, now(), now())",
                     got, sizeof got);
    cr_assert(rc != 0 && strstr(got, "read-only transaction"),
              "INSERT on the standby: expected psql to fail with \"read-only transaction\", got "
              "exit %d: %s",
              rc, got);

    /* A failover: promoted, the standby is a primary of its own and takes that write. */
    run_script(REPLICA_SH, "promote", out, sizeof out);
    rc = standby_sql(port, db,
                     "INSERT INTO tasks (owner_id, title, status, priority, version, created_at, "
                     "updated_at) VALUES (1, 'written after promote', 'todo', 1, 1, now(), now())",
                     got, sizeof got);
    cr_assert(rc == 0,
              "INSERT on the standby after `replica.sh promote`: expected it to succeed, "
              "got exit %d: %s",
              rc, got);
}
