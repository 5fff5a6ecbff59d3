/* deploy_support.h — what week 5's deploy suite shares: running commands, the built package,
 * and the server (`make server-up`) reached over SSH and through its public HTTP port.
 *
 * The suite checks artefacts and a real machine, not the service's code: the unit files with
 * systemd's own tools, the .deb with dpkg-deb, and the deploy by running deploy.sh against the
 * server and looking at what systemd, the journal and HTTP say there. `make test-deploy` passes
 * where things are:
 *   DEPLOY_DIR   weeks/05-linux/deploy (the unit files, deploy.sh)
 *   PACKAGE_DEB  the package built by `make package`; BROKEN_DEB the one whose taskd exits 1
 *   SERVER_ENV   .run/server/server.env, written by `make server-up`
 * A test that needs the server and finds none fails as "not run: no server" (with the reason
 * test-deploy.sh found, in DEPLOY_NOT_RUN): never passed, never silently skipped. */
#ifndef TASKD_DEPLOY_SUPPORT_H
#define TASKD_DEPLOY_SUPPORT_H

#include <stdbool.h>
#include <stddef.h>

/* The value of an environment variable the suite needs; fails the test when it is unset. */
const char *dp_env(const char *name);

/* Runs a shell command (printf-style) and collects its stdout and stderr into out (may be
 * NULL). Returns the exit status. */
int dp_sh(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A field of the package's control file (dpkg-deb -f), into out. */
void dp_deb_field(const char *deb, const char *field, char *out, size_t cap);

/* ---- the server ---- */

/* Fails the test ("not run: no server ...") unless server.env is there and SSH answers. */
void dp_need_server(void);
/* Runs a shell script as root on the server (stdin of `sudo sh -s`, so it is not quoted
 * twice). Returns its exit status. */
int dp_remote(char *out, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A request through the server's public HTTP port: the status (0: no answer), the body in
 * out. token may be NULL; body may be NULL (then no Content-Type). */
long dp_http(const char *method, const char *path, const char *token, const char *body, char *out,
             size_t cap);
/* Makes sure the good package (PACKAGE_DEB) is installed and serving: deploys it when the
 * server has another version or does not answer /ready. */
void dp_ensure_deployed(void);
/* Registers a new user and logs in: the access token into token. */
void dp_login(char *token, size_t cap);
/* systemctl show -p PROP --value UNIT on the server, into out. */
void dp_unit_prop(const char *unit, const char *prop, char *out, size_t cap);
/* Waits up to timeout_s for taskd to be active with a main PID other than old_pid and /ready
 * to answer 200. */
bool dp_wait_serving_new_pid(const char *old_pid, int timeout_s);

#endif
