/* deploy_support.c — commands, the package and the server for week 5's deploy suite (see
 * deploy_support.h). Everything goes through the tools an operator would use (sh, ssh, curl,
 * dpkg-deb), so a passing test is something a person could see by hand. */
#include "deploy_support.h"

#include <cjson/cJSON.h>
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testkit.h"

const char *dp_env(const char *name)
{
    const char *v = getenv(name);
    cr_assert(v && *v, "%s is not set: run this suite with `make test-deploy`", name);
    return v;
}

/* Formats a command into script; fails the test when it does not fit. */
static void format_script(char *script, size_t cap, const char *fmt, va_list ap)
{
    int n = vsnprintf(script, cap, fmt, ap);
    cr_assert(n > 0 && (size_t)n < cap, "a command of the suite is too long");
}

int dp_sh(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = tk_vsh(out, cap, fmt, ap);
    va_end(ap);
    return rc;
}

void dp_deb_field(const char *deb, const char *field, char *out, size_t cap)
{
    int rc = dp_sh(out, cap, "dpkg-deb -f '%s' %s", deb, field);
    cr_assert_eq(rc, 0, "dpkg-deb -f %s %s failed: %s", deb, field, out);
    out[strcspn(out, "\n")] = '\0';
}

/* ---- the server ---- */

static bool server_checked, server_up;

void dp_need_server(void)
{
    const char *why = getenv("DEPLOY_NOT_RUN");
    if (why && *why)
        cr_assert_fail("not run: no server: %s", why);
    if (!server_checked) {
        server_checked = true;
        const char *env = getenv("SERVER_ENV");
        char out[512];
        server_up = env && *env &&
                    dp_sh(out, sizeof out,
                          "set -a && . '%s' && ssh $SERVER_SSH_OPTS \"$SERVER_USER@127.0.0.1\" "
                          "sudo true",
                          env) == 0;
    }
    cr_assert(server_up, "not run: no server (make server-up and make server-provision, or run "
                         "make test-deploy, which does both)");
}

int dp_remote(char *out, size_t cap, const char *fmt, ...)
{
    char script[4096];
    va_list ap;
    va_start(ap, fmt);
    format_script(script, sizeof script, fmt, ap);
    va_end(ap);
    /* The script goes on stdin behind a quoted here-document: nothing in it is expanded here. */
    return dp_sh(out, cap,
                 "set -a && . '%s' && ssh $SERVER_SSH_OPTS \"$SERVER_USER@127.0.0.1\" sudo sh -s "
                 "<<'DEPLOY_SUITE_EOF'\n%s\nDEPLOY_SUITE_EOF",
                 dp_env("SERVER_ENV"), script);
}

long dp_http(const char *method, const char *path, const char *token, const char *body, char *out,
             size_t cap)
{
    char auth[1200] = "", data[2200] = "";
    if (token)
        snprintf(auth, sizeof auth, "-H 'Authorization: Bearer %s'", token);
    if (body)
        snprintf(data, sizeof data, "-H 'Content-Type: application/json' --data-raw '%s'", body);
    /* The body, then the status on a line of its own. */
    char raw[16384];
    int rc = dp_sh(raw, sizeof raw,
                   "set -a && . '%s' && curl -s -m 10 -X %s %s %s -w '\\n%%{http_code}' "
                   "\"http://127.0.0.1:$SERVER_HTTP_PORT%s\"",
                   dp_env("SERVER_ENV"), method, auth, data, path);
    if (rc != 0)
        return 0;
    char *nl = strrchr(raw, '\n');
    long status = nl ? strtol(nl + 1, NULL, 10) : 0;
    if (nl)
        *nl = '\0';
    if (out)
        snprintf(out, cap, "%s", raw);
    return status;
}

void dp_unit_prop(const char *unit, const char *prop, char *out, size_t cap)
{
    int rc = dp_remote(out, cap, "systemctl show -p %s --value %s", prop, unit);
    cr_assert_eq(rc, 0, "systemctl show %s %s failed: %s", prop, unit, out);
    out[strcspn(out, "\n")] = '\0';
}

void dp_ensure_deployed(void)
{
    const char *deb = dp_env("PACKAGE_DEB");
    char want[128], have[128] = "";
    dp_deb_field(deb, "Version", want, sizeof want);
    dp_remote(have, sizeof have, "dpkg-query -W -f '${Version}' taskd 2>/dev/null");
    if (strcmp(want, have) == 0 && dp_http("GET", "/ready", NULL, NULL, NULL, 0) == 200)
        return;
    char out[16384];
    int rc = dp_sh(out, sizeof out, "bash '%s/deploy.sh' --server-env '%s' '%s'",
                   dp_env("DEPLOY_DIR"), dp_env("SERVER_ENV"), deb);
    cr_assert_eq(rc, 0, "expected deploy.sh %s to deploy it (exit 0); got exit %d:\n%s", deb, rc,
                 out);
}

void dp_login(char *token, size_t cap)
{
    char email[128], uniq[96], body[512], out[4096];
    snprintf(email, sizeof email, "%s@example.com", tk_unique("deploy", uniq, sizeof uniq));
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"correct horse battery\"}", email);
    long st = dp_http("POST", "/auth/register", NULL, body, out, sizeof out);
    cr_assert_eq(st, 201, "expected POST /auth/register to answer 201; got %ld: %s", st, out);
    st = dp_http("POST", "/auth/login", NULL, body, out, sizeof out);
    cr_assert_eq(st, 200, "expected POST /auth/login to answer 200; got %ld: %s", st, out);
    cJSON *j = cJSON_Parse(out);
    const char *t = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "access_token"));
    cr_assert(t && strlen(t) < cap, "expected an access_token in the login answer: %s", out);
    snprintf(token, cap, "%s", t);
    cJSON_Delete(j);
}

bool dp_wait_serving_new_pid(const char *old_pid, int timeout_s)
{
    long deadline = tk_now_ms() + (long)timeout_s * 1000;
    while (tk_now_ms() < deadline) {
        char state[64], pid[64];
        dp_unit_prop("taskd.service", "ActiveState", state, sizeof state);
        dp_unit_prop("taskd.service", "MainPID", pid, sizeof pid);
        if (strcmp(state, "active") == 0 && strcmp(pid, "0") != 0 && strcmp(pid, old_pid) != 0 &&
            dp_http("GET", "/ready", NULL, NULL, NULL, 0) == 200)
            return true;
        tk_sleep_ms(500);
    }
    return false;
}
