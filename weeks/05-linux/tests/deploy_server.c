/* deploy_server.c — week 5's deploy against the real server (`make server-up`,
 * `make server-provision`): deploy.sh installs the package and it serves through the public
 * port; the secret is root-only on disk and never in the journal; systemd restarts taskd when
 * it is killed, without losing an acknowledged write; `systemctl reload` keeps the process and
 * keeps serving; a unit whose secret is missing refuses to start and says why; a broken
 * package is rolled back and the old version serves again. (A restart under load is
 * deploy_restart.c.)
 *
 * Each test first makes sure the good package is deployed (dp_ensure_deployed), so none
 * depends on another having run. Without a server every test here fails as "not run: no
 * server", never passed. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deploy_support.h"
#include "testkit.h"

/* Deploying takes tens of seconds on a loaded machine: far above Criterion's 60 s default. */
#define SERVER_TIMEOUT .timeout = 600

/* Creates a task titled title for the user of token: its id, once the server answered 201
 * (an acknowledged write). */
static long long create_task(const char *token, const char *title)
{
    char json[256], body[4096];
    snprintf(json, sizeof json, "{\"title\":\"%s\"}", title);
    long st = dp_http("POST", "/tasks", token, json, body, sizeof body);
    cr_assert_eq(st, 201, "expected POST /tasks to answer 201; got %ld: %s", st, body);
    const char *idp = strstr(body, "\"id\":");
    cr_assert(idp, "no id in %s", body);
    return strtoll(idp + 5, NULL, 10);
}

/* The task is still there, with its title, after what happened (when). */
static void expect_task(const char *token, long long id, const char *title, const char *when)
{
    char path[64], body[4096];
    snprintf(path, sizeof path, "/tasks/%lld", id);
    long st = dp_http("GET", path, token, NULL, body, sizeof body);
    cr_expect_eq(st, 200, "expected the task written before %s (GET %s) to answer 200; got %ld: %s",
                 when, path, st, body);
    cr_expect(strstr(body, title), "expected the task's title %s after %s; got %s", title, when,
              body);
}

GRADED(server, deploy_serves_health_and_ready_on_the_public_port, 3, SERVER_TIMEOUT)
{
    dp_need_server();
    const char *deb = dp_env("PACKAGE_DEB");
    char out[16384], version[128], have[128] = "";
    int rc = dp_sh(out, sizeof out, "bash '%s/deploy.sh' --server-env '%s' '%s'",
                   dp_env("DEPLOY_DIR"), dp_env("SERVER_ENV"), deb);
    cr_assert_eq(rc, 0, "expected deploy.sh to deploy %s (exit 0); got exit %d:\n%s", deb, rc, out);
    cr_expect(strstr(out, "deploy: result=deployed "), "expected a result=deployed line:\n%s", out);
    dp_deb_field(deb, "Version", version, sizeof version);
    dp_remote(have, sizeof have, "dpkg-query -W -f '${Version}' taskd");
    cr_expect_str_eq(have, version, "expected taskd %s installed on the server; dpkg says '%s'",
                     version, have);
    long st = dp_http("GET", "/health", NULL, NULL, out, sizeof out);
    cr_expect_eq(st, 200, "expected GET /health through the public port to answer 200; got %ld",
                 st);
    st = dp_http("GET", "/ready", NULL, NULL, out, sizeof out);
    cr_expect_eq(st, 200, "expected GET /ready through the public port to answer 200; got %ld: %s",
                 st, out);
    char state[64];
    dp_unit_prop("taskd-worker.service", "ActiveState", state, sizeof state);
    cr_expect_str_eq(state, "active", "expected taskd-worker.service active; it is %s", state);
}

GRADED(server, secret_is_root_only_and_never_in_the_journal, 3, SERVER_TIMEOUT)
{
    dp_need_server();
    dp_ensure_deployed();
    char out[8192], uniq[96], path[160];
    int rc =
        dp_remote(out, sizeof out,
                  "stat -c '%%a %%U %%G' /etc/taskd/credentials /etc/taskd/credentials/jwt-secret");
    cr_expect_eq(rc, 0, "stat failed: %s", out);
    cr_expect_str_eq(out, "700 root root\n600 root root\n",
                     "expected the credentials directory 700 and the secret 600, both root's; "
                     "got:\n%s",
                     out);
    /* A request the journal must show: a path of our own (an unknown one is logged as sent). */
    snprintf(path, sizeof path, "/%s", tk_unique("deploy-probe", uniq, sizeof uniq));
    long st = dp_http("GET", path, NULL, NULL, NULL, 0);
    cr_expect_eq(st, 404, "expected GET %s to answer 404; got %ld", path, st);
    tk_sleep_ms(1000); /* journald writes asynchronously */
    rc = dp_remote(out, sizeof out,
                   "journalctl -u taskd.service -o cat --no-pager | grep -c -- '%s'", uniq);
    cr_expect(rc == 0 && strtol(out, NULL, 10) >= 1,
              "expected taskd's request log line for %s in the journal; grep -c says %s", path,
              out);
    /* The secret's value is compared on the server: it never reaches this test's output. */
    rc = dp_remote(out, sizeof out,
                   "s=$(cat /etc/taskd/credentials/jwt-secret); [ ${#s} -ge 32 ] || exit 3; "
                   "journalctl -u taskd.service -u taskd-worker.service --no-pager -o cat | "
                   "grep -cF -- \"$s\" || true");
    cr_expect_eq(rc, 0, "expected a secret of 32 characters or more on the server (exit %d)", rc);
    cr_expect_str_eq(out, "0\n", "expected the JWT secret nowhere in the journal; %s lines hold it",
                     out);
}

GRADED(server, journal_files_each_line_at_its_level, 2, SERVER_TIMEOUT)
{
    dp_need_server();
    dp_ensure_deployed();
    char out[8192];
    /* A request, so there is at least one fresh access-log line. */
    long st = dp_http("GET", "/health", NULL, NULL, NULL, 0);
    cr_expect_eq(st, 200, "expected GET /health to answer 200; got %ld", st);
    tk_sleep_ms(1000); /* journald writes asynchronously */
    /* Per line taskd wrote: journald's PRIORITY, and the "level" of MESSAGE read as JSON
     * ("prefixed" when the "<N>" prefix was left in MESSAGE, "text" when it is not JSON). */
    int rc = dp_remote(
        out, sizeof out,
        "journalctl -u taskd.service -o json --no-pager -n 300 | "
        "jq -r 'select(.SYSLOG_IDENTIFIER == \"taskd\") | (.MESSAGE | tostring) as $m | "
        "(if ($m | startswith(\"<\")) then \"prefixed\" else (($m | fromjson? | .level) // "
        "\"text\") end) as $l | \"\\(.PRIORITY) \\($l)\"' | sort | uniq -c");
    cr_assert_eq(rc, 0, "journalctl | jq failed on the server (exit %d): %s", rc, out);
    cr_expect(strstr(out, " 6 info\n") != NULL,
              "expected taskd's info lines at priority 6 (info); per priority and level:\n%s", out);
    static const char *const wrong[] = {"prefixed", " 6 warn", " 6 error",
                                        " 6 debug", " 3 info", " 4 info"};
    for (size_t i = 0; i < sizeof wrong / sizeof wrong[0]; i++)
        cr_expect(strstr(out, wrong[i]) == NULL,
                  "expected each line at the priority of its level (<3> error, <4> warn, <6> "
                  "info, <7> debug, the prefix taken off MESSAGE); found \"%s\" in:\n%s",
                  wrong[i], out);
}

GRADED(server, restarts_after_a_crash_without_losing_an_acknowledged_write, 3, SERVER_TIMEOUT)
{
    dp_need_server();
    dp_ensure_deployed();
    char token[2048], uniq[96], title[160], pid[64], restarts[64], after[64], out[512];
    dp_login(token, sizeof token);
    snprintf(title, sizeof title, "%s", tk_unique("survives-kill-9", uniq, sizeof uniq));
    long long id = create_task(token, title);

    dp_unit_prop("taskd.service", "MainPID", pid, sizeof pid);
    dp_unit_prop("taskd.service", "NRestarts", restarts, sizeof restarts);
    cr_assert_neq(strtol(pid, NULL, 10), 0, "taskd has no main PID");
    int rc = dp_remote(out, sizeof out, "kill -9 %s", pid);
    cr_assert_eq(rc, 0, "kill -9 %s failed: %s", pid, out);
    cr_assert(dp_wait_serving_new_pid(pid, 60),
              "expected systemd to restart taskd after kill -9 and /ready to answer within 60 s");
    dp_unit_prop("taskd.service", "NRestarts", after, sizeof after);
    cr_expect_gt(strtol(after, NULL, 10), strtol(restarts, NULL, 10),
                 "expected NRestarts to grow (was %s, now %s)", restarts, after);
    expect_task(token, id, title, "kill -9");
}

GRADED(server, reload_keeps_the_process_and_keeps_serving, 2, SERVER_TIMEOUT)
{
    dp_need_server();
    dp_ensure_deployed();
    char pid[64], wpid[64], out[4096], now[64];
    dp_unit_prop("taskd.service", "MainPID", pid, sizeof pid);
    dp_unit_prop("taskd-worker.service", "MainPID", wpid, sizeof wpid);
    int rc = dp_remote(out, sizeof out,
                       "since=$(date '+%%Y-%%m-%%d %%H:%%M:%%S'); systemctl reload taskd.service "
                       "taskd-worker.service && sleep 1 && journalctl -u taskd.service --since "
                       "\"$since\" -o cat --no-pager | grep -c 'SIGHUP'");
    cr_expect_eq(rc, 0,
                 "expected systemctl reload to succeed and taskd to log the SIGHUP; got "
                 "exit %d: %s",
                 rc, out);
    dp_unit_prop("taskd.service", "MainPID", now, sizeof now);
    cr_expect_str_eq(now, pid, "expected reload to keep taskd's process (PID %s); now %s", pid,
                     now);
    dp_unit_prop("taskd-worker.service", "MainPID", now, sizeof now);
    cr_expect_str_eq(now, wpid, "expected reload to keep the worker's process (PID %s); now %s",
                     wpid, now);
    long st = dp_http("GET", "/ready", NULL, NULL, NULL, 0);
    cr_expect_eq(st, 200, "expected /ready 200 after the reload; got %ld", st);
}

GRADED(server, missing_secret_refuses_to_start_and_says_why, 2, SERVER_TIMEOUT)
{
    dp_need_server();
    dp_ensure_deployed();
    char out[8192];
    /* Move the secret aside, try a restart, put it back whatever happened. */
    int rc =
        dp_remote(out, sizeof out,
                  "c=/etc/taskd/credentials; mv $c/jwt-secret $c/jwt-secret.aside; "
                  "since=$(date '+%%Y-%%m-%%d %%H:%%M:%%S'); "
                  "systemctl restart taskd.service; echo \"restart=$?\"; "
                  "echo \"state=$(systemctl show -p ActiveState --value taskd.service)\"; "
                  /* The unit's lines and the lines systemd's exec child logs for it (a
                   * different PID, so not all of them carry the unit): keep those naming
                   * the credential. */
                  "journalctl --since \"$since\" --no-pager -o cat | grep -i -e credential "
                  "-e jwt_secret | head -n 6 | sed 's/^/journal: /'; "
                  "mv $c/jwt-secret.aside $c/jwt-secret; systemctl reset-failed taskd.service; "
                  "systemctl restart taskd.service");
    cr_expect_eq(rc, 0, "putting the secret back and restarting failed (exit %d):\n%s", rc, out);
    cr_expect(strstr(out, "restart=0") == NULL,
              "expected the restart without the secret to fail; it succeeded:\n%s", out);
    /* failed, or activating: Restart=on-failure tries again until the start limit. */
    cr_expect(strstr(out, "state=failed") || strstr(out, "state=activating"),
              "expected taskd.service not to run:\n%s", out);
    const char *line = strstr(out, "journal: ");
    cr_expect(line && strcasestr(line, "credential"),
              "expected a journal line saying the credential (the JWT secret) is missing:\n%s",
              out);
    cr_expect(dp_wait_serving_new_pid("0", 60), "expected taskd to serve again once the secret "
                                                "was back");
}

GRADED(server, broken_package_rolls_back_and_the_old_version_serves, 4, SERVER_TIMEOUT)
{
    dp_need_server();
    dp_ensure_deployed();
    char token[2048], uniq[96], title[160], good[128], have[128] = "", out[16384];
    dp_deb_field(dp_env("PACKAGE_DEB"), "Version", good, sizeof good);
    dp_login(token, sizeof token);
    snprintf(title, sizeof title, "%s", tk_unique("before-rollback", uniq, sizeof uniq));
    long long id = create_task(token, title);

    const char *broken = dp_env("BROKEN_DEB");
    int rc = dp_sh(out, sizeof out, "bash '%s/deploy.sh' --server-env '%s' --ready-timeout 60 '%s'",
                   dp_env("DEPLOY_DIR"), dp_env("SERVER_ENV"), broken);
    cr_expect_eq(rc, 1,
                 "expected deploy.sh to refuse the broken package and roll back (exit 1); "
                 "got exit %d:\n%s",
                 rc, out);
    cr_expect(strstr(out, "deploy: result=rolled-back "), "expected result=rolled-back:\n%s", out);
    dp_remote(have, sizeof have, "dpkg-query -W -f '${Version}' taskd");
    cr_expect_str_eq(have, good, "expected the good version %s installed again; dpkg says '%s'",
                     good, have);
    long st = dp_http("GET", "/ready", NULL, NULL, NULL, 0);
    cr_expect_eq(st, 200,
                 "expected the old version to answer /ready 200 after the rollback; got %ld", st);
    expect_task(token, id, title, "the failed deploy");
}
