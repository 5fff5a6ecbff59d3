/* api_w3_helpers.h — helpers shared by week 3's black-box suites (api_*.c); no tests here.
 *
 * The week-3 suites still talk to the service over HTTP only, through the test kit. What they
 * add to week 1's helpers (api_helpers.h): reading a task together with its X-Cache header,
 * looking at one line of GET /ready, starting a private server with settings that must win over
 * the inherited environment, and a Redis of the test's own (TASKD_RUN_DIR=<temp dir>
 * services.sh) that a test can kill and start again without disturbing the suites running in
 * parallel on the developer's Redis. Helpers that assert fail the running test with a message
 * naming the request or the command. */
#ifndef TASKD_API_W3_HELPERS_H
#define TASKD_API_W3_HELPERS_H

#include <stdbool.h>
#include <stddef.h>

#include "testkit.h"

/* ---- servers ---- */

/* A private server (fresh database) with these "NAME=value" settings (NULL-terminated; may be
 * NULL), stopped by w3_private_fini, which tests name in .fini so that it runs even when an
 * assertion fails. tk_server_start puts its extra settings *after* the inherited environment,
 * and the server's getenv finds the first of two same-named variables, so an inherited
 * REDIS_URL would win over ours; here each setting replaces the test process's own variable
 * first (Criterion runs every test in a process of its own, so nothing leaks into other
 * tests). */
struct tk_server *w3_private(const char *const *settings);
void w3_private_fini(void);

/* ---- tasks and X-Cache ---- */

/* How long a read that expects a HIT keeps reading while it gets MISS (see w3_get_task). */
#define W3_HIT_PATIENCE_MS 3000

/* GET /tasks/<id>, expecting 200 with "X-Cache: <want>" ("HIT" or "MISS"; NULL accepts
 * either, but the header must be there) and a whole task of that id. A HIT may come after a few
 * MISSes within W3_HIT_PATIENCE_MS (the cache may be skipped for a moment); a MISS is strict.
 * The caller frees it. */
struct tk_response *w3_get_task(struct tk_server *s, long long id, const char *want);
/* The same, returning only the task's version. */
long long w3_read_version(struct tk_server *s, long long id, const char *want);
/* PATCH /tasks/<id> {"title": title} (no If-Match), expecting 200 without X-Cache; returns the
 * new version. */
long long w3_patch_title(struct tk_server *s, long long id, const char *title);

/* ---- readiness ---- */

/* GET /ready, expecting 200 and checks.<name> equal to want ("ok"/"down"); want NULL means the
 * line must not be there at all. */
void w3_expect_ready_check(struct tk_server *s, const char *name, const char *want);

/* ---- a Redis of the test's own ---- */

/* `services.sh command service` with TASKD_RUN_DIR=run_dir; fails the test unless it exits 0. */
void w3_services(const char *run_dir, const char *command, const char *service);

/* Makes /tmp/taskd-<tag>-XXXXXX (its path into run_dir at once, so that a clean-up registered
 * before the call finds it), starts a Redis there (services.sh up redis) and copies its
 * REDIS_URL from <run_dir>/services.env into url. Fails the test when a step fails. The
 * directory records this process as its owner (owner.pid); directories of the same tag whose
 * owner died without cleaning up (killed on a timeout) are destroyed first. */
void w3_redis_start(const char *tag, char *run_dir, size_t run_dir_len, char *url, size_t url_len);

/* services.sh destroy (output discarded), then removes run_dir and empties it; nothing when
 * run_dir is "". Never asserts (meant for .fini and atexit); 0, or -1 when destroy failed
 * (said on stderr; the directory is removed anyway). */
int w3_redis_destroy(char *run_dir);

#endif
