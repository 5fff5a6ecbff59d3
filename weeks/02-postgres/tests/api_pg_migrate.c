/* api_pg_migrate.c — black-box tests of `taskd migrate` and of AUTO_MIGRATE (stage 2).
 *
 * The schema is the one part of the service a restart cannot repair: a migration that runs
 * twice, half-way or on a database it was not written for corrupts every later release. So
 * these tests hold the runner to its contract from the outside, with a brand-new database each
 * (TK_FRESH_DB_CMD): `migrate --status` says what is pending (exit 3) or current (exit 0);
 * `migrate` applies each file once, even when two run at the same moment (the advisory lock);
 * it refuses a database whose history does not match the binary (an edited migration, or one
 * from a newer release) with exit 1; usage errors exit 2; an unreachable server fails fast
 * without printing the password. And a server never serves on a schema it does not have.
 *
 * Commands run through tk_run as `timeout N env DATABASE_URL=... $TASKD_BIN migrate`: env
 * replaces any DATABASE_URL the suite's environment carries, and timeout turns a hang into
 * exit 124 instead of a stuck test. SQL goes through psql, never through the service's code. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_helpers.h"
#include "api_pg_helpers.h"
#include "testkit.h"
#include "tk_race.h"

#define OUT_LEN 16384

static const char *taskd_bin(void)
{
    tk_need_local("the stage's binary, run with arguments of its own");
    const char *bin = getenv("TASKD_BIN");
    cr_assert(bin && *bin, "TASKD_BIN is not set");
    return bin;
}

/* Runs sql (one value) on url through psql and asserts that it gives want; what says what that
 * means, for the failure. */
static void expect_psql(const char *url, const char *sql, const char *want, const char *what)
{
    char got[256];
    pg_api_psql(url, sql, got, sizeof got);
    cr_assert(strcmp(got, want) == 0, "%s: `%s` gave %s, expected %s", what, sql, got, want);
}

/* Runs `$TASKD_BIN arg1 [arg2]` with DATABASE_URL=url (and setting, may be NULL), killed after
 * secs. Returns the exit status (124: timed out); output gets stdout and stderr. */
static int run_taskd(const char *url, const char *setting, int secs, const char *arg1,
                     const char *arg2, char *out, size_t out_len)
{
    char db[1024], limit[16];
    snprintf(db, sizeof db, "DATABASE_URL=%s", url);
    snprintf(limit, sizeof limit, "%d", secs);
    const char *argv[10];
    int n = 0;
    argv[n++] = "/usr/bin/timeout";
    argv[n++] = limit;
    argv[n++] = "/usr/bin/env";
    argv[n++] = db;
    if (setting)
        argv[n++] = setting;
    argv[n++] = taskd_bin();
    if (arg1)
        argv[n++] = arg1;
    if (arg2)
        argv[n++] = arg2;
    argv[n] = NULL;
    return tk_run(argv, NULL, out, out_len);
}

static int migrate(const char *url, const char *arg, char *out, size_t len)
{
    return run_taskd(url, NULL, 30, "migrate", arg, out, len);
}

/* The status line of migration name says word ("applied" or "pending"). */
static void expect_status_line(const char *out, const char *name, const char *word,
                               const char *when)
{
    const char *line = strstr(out, name);
    cr_assert(line, "%s: expected `taskd migrate --status` to list %s, got:\n%s", when, name, out);
    const char *eol = strchr(line, '\n');
    size_t n = eol ? (size_t)(eol - line) : strlen(line);
    char one[512];
    snprintf(one, sizeof one, "%.*s", (int)(n < sizeof one - 1 ? n : sizeof one - 1), line);
    cr_assert(strstr(one, word), "%s: expected the status line of %s to say \"%s\", got \"%s\"",
              when, name, word, one);
}

/* Migrates url, expecting success. */
static void migrate_ok(const char *url, const char *when)
{
    char out[OUT_LEN];
    int rc = migrate(url, NULL, out, sizeof out);
    cr_assert(rc == 0, "%s: `taskd migrate` on a new database: expected exit 0, got %d:\n%s", when,
              rc, out);
}

/* ---- status, apply, idempotence ---- */

GRADED(migrate, status_then_apply_then_nothing_left, 2)
{
    char url[1024], out[OUT_LEN];
    pg_api_fresh_db(url, sizeof url);

    int rc = migrate(url, "--status", out, sizeof out);
    cr_assert(rc == 3,
              "`taskd migrate --status` on an empty database: expected exit 3 "
              "(pending), got %d:\n%s",
              rc, out);
    expect_status_line(out, "0001_tasks", "pending", "empty database");

    rc = migrate(url, NULL, out, sizeof out);
    cr_assert(rc == 0, "`taskd migrate` on an empty database: expected exit 0, got %d:\n%s", rc,
              out);
    cr_assert(strstr(out, "applied 0001_tasks"),
              "`taskd migrate` on an empty database: expected \"applied 0001_tasks\", got:\n%s",
              out);

    rc = migrate(url, "--status", out, sizeof out);
    cr_assert(rc == 0,
              "`taskd migrate --status` after migrating: expected exit 0 (current), "
              "got %d:\n%s",
              rc, out);
    expect_status_line(out, "0001_tasks", "applied", "after migrating");
    cr_assert(!strstr(out, "pending"), "after migrating: expected nothing pending, got:\n%s", out);

    rc = migrate(url, NULL, out, sizeof out);
    cr_assert(rc == 0, "a second `taskd migrate`: expected exit 0, got %d:\n%s", rc, out);
    cr_assert(strstr(out, "0 applied now") && !strstr(out, "applied 0001_tasks"),
              "a second `taskd migrate`: expected it to apply nothing (\"0 applied now\"), "
              "got:\n%s",
              out);

    expect_psql(url, "SELECT count(*) FROM schema_migrations WHERE name = '0001_tasks'", "1",
                "after migrating twice: expected one schema_migrations row for 0001_tasks");
    expect_psql(url, "SELECT count(*) FROM tasks", "0",
                "after migrating: expected an empty tasks table");
}

/* ---- two runners at once ---- */

struct racer {
    const char *url;
    int rc;
    char out[OUT_LEN];
};

static void *race(void *arg)
{
    struct racer *r = arg;
    tk_race_gate();
    r->rc = migrate(r->url, NULL, r->out, sizeof r->out);
    return NULL;
}

GRADED(migrate, two_runners_at_once_apply_each_file_once, 3)
{
    for (int round = 1; round <= 5; round++) {
        char url[1024], got[256];
        pg_api_fresh_db(url, sizeof url);
        struct racer runners[2] = {{.url = url}, {.url = url}};
        cr_assert(tk_race(2, race, runners, sizeof runners[0]) == 0,
                  "test bug: could not start 2 threads: %s", strerror(errno));
        const struct racer a = runners[0], b = runners[1];

        cr_assert(a.rc == 0 && b.rc == 0,
                  "round %d: two `taskd migrate` at once on an empty database: expected both to "
                  "exit 0, got %d and %d:\n--- first ---\n%s\n--- second ---\n%s",
                  round, a.rc, b.rc, a.out, b.out);
        int applied = (strstr(a.out, "applied 0001_tasks") != NULL) +
                      (strstr(b.out, "applied 0001_tasks") != NULL);
        cr_assert(applied == 1,
                  "round %d: expected exactly one of two concurrent runs to apply 0001_tasks, "
                  "%d did:\n--- first ---\n%s\n--- second ---\n%s",
                  round, applied, a.out, b.out);
        /* Later stages carry more migrations: each must be recorded exactly once. */
        pg_api_psql(url,
                    "SELECT (count(*) = count(DISTINCT name))::int || ' ' || "
                    "count(*) FILTER (WHERE name = '0001_tasks') FROM schema_migrations",
                    got, sizeof got);
        cr_assert(strcmp(got, "1 1") == 0,
                  "round %d: expected one schema_migrations row per migration, 0001_tasks among "
                  "them (no duplicate name, 0001_tasks rows = \"1 1\"), got \"%s\"",
                  round, got);
        pg_api_psql(url,
                    "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relname = 'tasks' AND c.relkind = 'r'",
                    got, sizeof got);
        cr_assert(strcmp(got, "1") == 0, "round %d: expected one tasks table, found %s", round,
                  got);
    }
}

/* ---- a history that does not match the binary ---- */

GRADED(migrate, refuses_an_edited_or_unknown_migration, 2)
{
    char url[1024], out[OUT_LEN];
    pg_api_fresh_db(url, sizeof url);
    migrate_ok(url, "edited checksum");
    pg_api_psql(url, "UPDATE schema_migrations SET checksum = 'x'", NULL, 0);
    int rc = migrate(url, NULL, out, sizeof out);
    cr_assert(rc == 1,
              "`taskd migrate` after 0001_tasks's checksum was altered: expected exit 1, "
              "got %d:\n%s",
              rc, out);
    cr_assert(strstr(out, "changed"),
              "`taskd migrate` after 0001_tasks's checksum was altered: expected a message that "
              "an applied migration changed, got:\n%s",
              out);
    rc = migrate(url, "--status", out, sizeof out);
    cr_assert(rc != 0 && rc != 124,
              "`taskd migrate --status` after 0001_tasks's checksum was altered: expected a "
              "non-zero exit, got %d:\n%s",
              rc, out);

    pg_api_fresh_db(url, sizeof url);
    migrate_ok(url, "unknown migration");
    pg_api_psql(url, "INSERT INTO schema_migrations VALUES ('9999_future', 'x', now())", NULL, 0);
    rc = migrate(url, NULL, out, sizeof out);
    cr_assert(rc == 1,
              "`taskd migrate` on a database that recorded 9999_future: expected exit 1, "
              "got %d:\n%s",
              rc, out);
    cr_assert(strstr(out, "not know") || strstr(out, "unknown"),
              "`taskd migrate` on a database that recorded 9999_future: expected a message that "
              "it does not know that migration, got:\n%s",
              out);
}

/* ---- expand/contract: an older binary on a newer schema ---- */

/* Starts the server on url with AUTO_MIGRATE=0 on a free port, killed after secs: its exit status
 * (124: it was still serving). */
static int serve_briefly(const char *url, int secs, char *out, size_t len)
{
    char db[1100], limit[16];
    snprintf(db, sizeof db, "DATABASE_URL=%s", url);
    snprintf(limit, sizeof limit, "%d", secs);
    const char *argv[] = {"/usr/bin/timeout",
                          limit,
                          "/usr/bin/env",
                          db,
                          "AUTO_MIGRATE=0",
                          "PORT=0",
                          "BIND_ADDRESS=127.0.0.1",
                          taskd_bin(),
                          NULL};
    return tk_run(argv, NULL, out, len);
}

GRADED(migrate, an_older_binary_starts_on_a_schema_expanded_compatibly, 2, .timeout = 60)
{
    char url[1024], out[OUT_LEN];
    pg_api_fresh_db(url, sizeof url);
    migrate_ok(url, "expand/contract");
    /* What a newer release's runner records for a file starting `-- compat: expand`. */
    pg_api_psql(url,
                "INSERT INTO schema_migrations (name, checksum, backward_compatible) "
                "VALUES ('9998_expand_future', 'x', true)",
                NULL, 0);
    int rc = migrate(url, "--status", out, sizeof out);
    cr_assert(rc == 0,
              "`taskd migrate --status` on a database with a newer migration marked backward "
              "compatible: expected exit 0 (current), got %d:\n%s",
              rc, out);
    cr_assert(strstr(out, "backward compatible"),
              "`taskd migrate --status` on an expanded schema: expected a warning naming the "
              "backward-compatible migration it does not know, got:\n%s",
              out);
    rc = migrate(url, NULL, out, sizeof out);
    cr_assert(rc == 0,
              "`taskd migrate` on a database with a newer migration marked backward compatible: "
              "expected exit 0, got %d:\n%s",
              rc, out);
    /* The server itself starts and serves: still running after 3 s is timeout's 124. */
    rc = serve_briefly(url, 3, out, sizeof out);
    cr_assert(rc == 124 && strstr(out, "listening"),
              "taskd (AUTO_MIGRATE off) on a schema a newer release expanded compatibly: "
              "expected it to start and keep serving, got exit %d:\n%s",
              rc, out);

    /* A later, unmarked (contract) migration: the older binary refuses again. */
    pg_api_psql(url,
                "INSERT INTO schema_migrations (name, checksum, backward_compatible) "
                "VALUES ('9999_contract_future', 'x', false)",
                NULL, 0);
    rc = serve_briefly(url, 10, out, sizeof out);
    cr_assert(rc != 0 && rc != 124,
              "taskd on a schema with an unknown migration not marked compatible: expected it "
              "to refuse to start, got %s:\n%s",
              rc == 124 ? "still running" : "exit 0", out);
}

/* ---- usage and connection errors ---- */

GRADED(migrate, usage_errors_exit_2_and_unreachable_fails_fast, 1)
{
    char out[OUT_LEN];
    int rc = migrate("postgres://nobody@127.0.0.1:1/none", "--bogus", out, sizeof out);
    cr_assert(rc == 2, "`taskd migrate --bogus`: expected exit 2 (usage), got %d:\n%s", rc, out);

    rc = migrate("sqlite:/tmp/x", NULL, out, sizeof out);
    cr_assert(rc == 2, "DATABASE_URL=sqlite:/tmp/x `taskd migrate`: expected exit 2, got %d:\n%s",
              rc, out);
    cr_assert(strstr(out, "postgres"),
              "DATABASE_URL=sqlite:/tmp/x `taskd migrate`: expected a message saying it needs a "
              "postgres:// URL, got:\n%s",
              out);

    /* Port 1: nothing listens there. timeout 10 makes a hang exit 124. */
    const char *secret = "Zq7SecretPassw0rd";
    char url[256];
    snprintf(url, sizeof url, "postgres://taskd:%s@127.0.0.1:1/taskd", secret);
    rc = run_taskd(url, NULL, 10, "migrate", NULL, out, sizeof out);
    cr_assert(rc == 1,
              "`taskd migrate` with PostgreSQL unreachable (port 1): expected exit 1 "
              "within 10 s, got %d%s:\n%s",
              rc, rc == 124 ? " (timed out)" : "", out);
    cr_assert(!strstr(out, secret),
              "`taskd migrate` with PostgreSQL unreachable: the output shows the password:\n%s",
              out);
}

/* ---- AUTO_MIGRATE ---- */

GRADED(migrate, server_migrates_only_when_told_to, 1)
{
    /* AUTO_MIGRATE=1 on an empty database: it serves, and the schema is recorded. */
    const char *auto_on[] = {"AUTO_MIGRATE=1", NULL};
    struct tk_server *s = tk_server_start(auto_on);
    char url[1024], out[OUT_LEN];
    snprintf(url, sizeof url, "%s", tk_server_database_url(s));
    struct tk_response *r = api_list(s, "");
    tk_response_free(r);
    expect_psql(url, "SELECT count(*) FROM schema_migrations WHERE name = '0001_tasks'", "1",
                "a server started with AUTO_MIGRATE=1 on an empty database: expected "
                "schema_migrations to record 0001_tasks");
    tk_server_stop(s); /* drops its database */

    /* AUTO_MIGRATE=0 on an empty database: refuse to start (a log line says why) instead of
     * serving 500s. Still running after 5 s means it is serving: timeout's 124. */
    pg_api_fresh_db(url, sizeof url);
    const char *argv[] = {"/usr/bin/timeout",
                          "5",
                          "/usr/bin/env",
                          NULL,
                          "AUTO_MIGRATE=0",
                          "PORT=0",
                          "BIND_ADDRESS=127.0.0.1",
                          taskd_bin(),
                          NULL};
    char db[1100];
    snprintf(db, sizeof db, "DATABASE_URL=%s", url);
    argv[3] = db;
    int rc = tk_run(argv, NULL, out, sizeof out);
    cr_assert(rc != 0 && rc != 124,
              "a server started with AUTO_MIGRATE=0 on an empty database: expected it to exit "
              "non-zero at start-up (schema missing), got %s:\n%s",
              rc == 124 ? "still running after 5 s (serving without a schema)" : "exit 0", out);
    cr_assert(strstr(out, "migrat"),
              "a server started with AUTO_MIGRATE=0 on an empty database: expected a log line "
              "saying migrations are pending, got:\n%s",
              out);
    expect_psql(url, "SELECT count(*) FROM pg_class WHERE relname = 'tasks' AND relkind = 'r'", "0",
                "a server started with AUTO_MIGRATE=0 must not create the tasks table");
}
