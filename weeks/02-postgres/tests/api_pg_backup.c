/* api_pg_backup.c — black-box tests of weeks/02-postgres/scripts/backup.sh and restore.sh: a
 * logical backup taken while the service runs, restored into a new database, serves exactly the
 * same API answers; and restore.sh never mixes a dump into a database that already has tasks.
 *
 * Why through the API and not by counting rows: what a user cares about is that every task comes
 * back whole — ids, every field, versions (ETags), timestamps to the microsecond — and that the
 * service keeps working on the copy, down to the cursors handed out before the backup (the key
 * they are signed with is a row of the settings table, so a restore that lost it would turn every
 * outstanding cursor into a 400). Each test runs private servers (stopped by .fini even when an
 * assertion fails) and the scripts as a user would, through tk_run. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_helpers.h"
#include "api_pg_helpers.h"
#include "testkit.h"

#define BACKUP_SH  "weeks/02-postgres/scripts/backup.sh"
#define RESTORE_SH "weeks/02-postgres/scripts/restore.sh"
#define PAGE       7

static struct tk_server *first, *second;
static char dump_dir[64];
static char dump_file[128];

static void backup_fini(void)
{
    tk_server_stop(second);
    tk_server_stop(first);
    second = first = NULL;
    if (dump_file[0])
        unlink(dump_file);
    if (dump_dir[0])
        rmdir(dump_dir);
}

#define PRIVATE .fini = backup_fini

/* The scripts are run by path from the repository root (where the suites run). */
static void expect_scripts(void)
{
    cr_assert(access(BACKUP_SH, R_OK) == 0 && access(RESTORE_SH, R_OK) == 0,
              "expected %s and %s (run the suite from the repository root)", BACKUP_SH, RESTORE_SH);
}

/* A temporary file name for the dump, in a directory of its own. */
static const char *dump_path(void)
{
    snprintf(dump_dir, sizeof dump_dir, "/tmp/taskd-backup-test-XXXXXX");
    cr_assert(mkdtemp(dump_dir), "mkdtemp for the dump failed");
    snprintf(dump_file, sizeof dump_file, "%s/taskd.dump", dump_dir);
    return dump_file;
}

/* backup.sh url file: exits 0, names the file, and never shows the password. */
static void backup(const char *url, const char *file)
{
    char out[8192], pw[256];
    const char *argv[] = {"/bin/bash", BACKUP_SH, url, file, NULL};
    int rc = tk_run(argv, NULL, out, sizeof out);
    cr_assert(rc == 0, "backup.sh <url> %s: expected exit 0, got %d:\n%s", file, rc, out);
    cr_assert(access(file, R_OK) == 0, "backup.sh exited 0 but %s does not exist:\n%s", file, out);
    cr_assert(strstr(out, file), "backup.sh: expected its output to name the file %s:\n%s", file,
              out);
    pg_api_url_password(url, pw, sizeof pw);
    cr_assert(!pw[0] || !strstr(out, pw), "backup.sh printed the database password:\n%s", out);
}

/* Every item of GET /tasks (PAGE at a time, following next_cursor) as one JSON array, in order.
 * The first page's next_cursor is copied into cursor1 (NULL to skip). */
static cJSON *full_listing(struct tk_server *s, char *cursor1, size_t cursor1_len)
{
    cJSON *all = cJSON_CreateArray();
    char *cursor = NULL;
    for (int page = 0; page < 100; page++) {
        char q[2048], enc[1024];
        snprintf(q, sizeof q, "limit=%d%s%s", PAGE, cursor ? "&cursor=" : "",
                 cursor ? tk_urlencode(cursor, enc, sizeof enc) : "");
        free(cursor);
        struct tk_response *r = api_list(s, q);
        const char *next = api_next_cursor(r);
        if (page == 0 && cursor1)
            snprintf(cursor1, cursor1_len, "%s", next ? next : "");
        const cJSON *item;
        cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(r->json, "items"))
            cJSON_AddItemToArray(all, cJSON_Duplicate(item, true));
        cursor = next ? strdup(next) : NULL;
        tk_response_free(r);
        if (!cursor)
            return all;
    }
    cr_assert_fail("GET /tasks on %s: still a next_cursor after 100 pages", tk_server_url(s));
    return all;
}

/* got and want are the same listing; else name the first item that differs, with both. */
static void expect_same_listing(const cJSON *got, const cJSON *want, const char *what)
{
    int n_got = cJSON_GetArraySize(got), n_want = cJSON_GetArraySize(want);
    for (int i = 0; i < n_got && i < n_want; i++) {
        const cJSON *g = cJSON_GetArrayItem(got, i), *w = cJSON_GetArrayItem(want, i);
        if (!cJSON_Compare(g, w, true)) {
            char *gs = cJSON_PrintUnformatted(g), *ws = cJSON_PrintUnformatted(w);
            cr_assert_fail("%s: item %d differs from the original:\n  original: %s\n  restored: %s",
                           what, i, ws, gs);
        }
    }
    cr_assert(n_got == n_want, "%s: expected %d tasks, as in the original, got %d", what, n_want,
              n_got);
}

/* Task i of 50: every field varied — statuses, priorities, tags, due dates with
 * and without a fraction or none, descriptions with multi-byte UTF-8, quotes and a newline. */
static long long create_varied(struct tk_server *s, int i)
{
    static const char *const status[] = {"todo", "in_progress", "done"};
    static const char *const prio[] = {"low", "normal", "high"};
    static const char *const tags[] = {"[]", "[\"work\"]", "[\"home\",\"urgent_2\"]",
                                       "[\"a\",\"b\",\"c\"]"};
    char due[64] = "null";
    if (i % 5 != 0)
        snprintf(due, sizeof due, "\"2027-%02d-%02dT%02d:30:00%sZ\"", 1 + i % 12, 1 + i % 28,
                 i % 24, i % 3 == 0 ? ".123456" : "");
    char *body = api_format("{\"title\":\"backup task %d — ✓\",\"description\":\"%s\","
                            "\"status\":\"%s\",\"priority\":\"%s\",\"tags\":%s,\"due_at\":%s}",
                            i, i % 2 ? "Ünïcødé 日本語 🚀 \\\"quoted\\\"\\nsecond line" : "plain",
                            status[i % 3], prio[(i / 3) % 3], tags[i % 4], due);
    long long id = tk_create_task(s, body);
    free(body);
    return id;
}

GRADED(backup, backup_then_restore_keeps_every_row, 3, PRIVATE)
{
    expect_scripts();
    first = tk_server_start(NULL);
    long long ids[50];
    for (int i = 0; i < 50; i++)
        ids[i] = create_varied(first, i);
    /* Versions above 1: every 6th task patched once, every 12th twice. */
    for (int i = 0; i < 50; i += 6) {
        char path[64];
        for (int k = 0; k < (i % 12 == 0 ? 2 : 1); k++) {
            char *body = api_format("{\"title\":\"patched %d.%d\",\"status\":\"done\"}", i, k);
            struct tk_response *r =
                tk_patch_json(first, api_task_path(ids[i], path, sizeof path), body);
            tk_expect_status(r, 200);
            tk_response_free(r);
            free(body);
        }
    }
    /* Deleted tasks must stay deleted in the copy: 9, 19, 29, 39, 49. */
    for (int i = 9; i < 50; i += 10) {
        char path[64];
        struct tk_response *r = tk_delete(first, api_task_path(ids[i], path, sizeof path));
        tk_expect_status(r, 204);
        tk_response_free(r);
    }
    char cursor1[1024];
    cJSON *before = full_listing(first, cursor1, sizeof cursor1);
    cr_assert(cJSON_GetArraySize(before) == 45,
              "GET /tasks (all pages): expected the 45 tasks left after 5 deletes, got %d",
              cJSON_GetArraySize(before));
    cr_assert(cursor1[0], "GET /tasks?limit=%d: expected a next_cursor with 45 tasks", PAGE);

    const char *file = dump_path();
    backup(tk_server_database_url(first), file);

    char target[512], restored[512], out[8192];
    pg_api_fresh_db(target, sizeof target);
    const char *argv[] = {"/bin/bash", RESTORE_SH, file, target, NULL};
    int rc = tk_run(argv, NULL, out, sizeof out);
    cr_assert(rc == 0, "restore.sh %s <new db>: expected exit 0, got %d:\n%s", file, rc, out);
    pg_api_last_line(out, restored, sizeof restored);
    cr_assert(strcmp(restored, target) == 0,
              "restore.sh: expected the last line to be the target URL it restored into, got "
              "\"%s\"",
              restored);

    char db[600];
    snprintf(db, sizeof db, "DATABASE_URL=%s", restored);
    const char *env[] = {db, NULL};
    second = tk_server_start(env);
    cJSON *after = full_listing(second, NULL, 0);
    expect_same_listing(after, before, "GET /tasks (all pages) on a server of the restored copy");

    char path[64];
    struct tk_response *r = tk_get(second, api_task_path(ids[19], path, sizeof path));
    cr_assert(r->status == 404,
              "%s on the restored copy: expected 404 (deleted before the backup), got %ld: %s",
              r->what, r->status, r->body);
    tk_response_free(r);

    /* A cursor handed out by the original before the backup pages the copy the same way. */
    char q[2048], enc[1024];
    snprintf(q, sizeof q, "limit=%d&cursor=%s", PAGE, tk_urlencode(cursor1, enc, sizeof enc));
    struct tk_response *want = api_list(first, q);
    char cpath[2100];
    snprintf(cpath, sizeof cpath, "/tasks?%s", q);
    struct tk_response *got = tk_get(second, cpath);
    cr_assert(got->status == 200,
              "GET /tasks?cursor=<the original's first-page cursor> on the restored copy: "
              "expected 200 (the signing key is in the database, so it was restored), got %ld: %s",
              got->status, got->body);
    expect_same_listing(cJSON_GetObjectItemCaseSensitive(got->json, "items"),
                        cJSON_GetObjectItemCaseSensitive(want->json, "items"),
                        "second page on the restored copy, from the original's cursor");
    tk_response_free(want);
    tk_response_free(got);
    cJSON_Delete(before);
    cJSON_Delete(after);
}

GRADED(backup, restore_refuses_a_database_that_has_tasks, 1, PRIVATE)
{
    expect_scripts();
    first = tk_server_start(NULL);
    long long id = tk_create_task(first, "{\"title\":\"already here\"}");
    const char *file = dump_path();
    backup(tk_server_database_url(first), file);

    /* Restoring the dump over the very database it came from: refused, nothing touched. */
    char out[8192];
    const char *argv[] = {"/bin/bash", RESTORE_SH, file, tk_server_database_url(first), NULL};
    int rc = tk_run(argv, NULL, out, sizeof out);
    cr_assert(rc == 1,
              "restore.sh into a database that has a tasks table: expected exit 1, got %d:\n%s", rc,
              out);
    cr_assert(strstr(out, "tasks"),
              "restore.sh: expected the refusal to say the target already has a tasks table:\n%s",
              out);
    long long ids[1] = {id};
    struct tk_response *r = api_list(first, "");
    api_expect_ids(r, ids, 1);
    tk_response_free(r);
}
