/* server_checks.c — the graded checks of week 5's server, made from the outside as a client would:
 * over SSH and TCP to the loopback ports the server publishes (.run/server/server.env), and
 * `podman exec` only where a check must look from inside (what answers on the server itself).
 *
 * weeks/05-linux/server/test-server.sh boots and provisions the server first, starts a probe on
 * 8080 when taskd is not deployed there yet (so port 80 has something to reach), then runs this
 * suite one test at a time (--jobs=1: the rollback test locks SSH out for a few seconds). Where
 * podman cannot run, it sets SERVER_NOT_RUN to the reason and every check fails as "server checks
 * not run: REASON", so a grade never counts them as passed. */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fcntl.h>

#include "buf.h"
#include "testkit.h"

#define OUT_MAX     65536
#define WAIT_MS     3000 /* a closed port: no connection, or no byte, within this */
#define SERVER_SH   "weeks/05-linux/server/server.sh"
#define FIREWALL_SH "weeks/05-linux/server/firewall.sh"
#define PODMAN_SH   "shared/scripts/podman.sh"
#define RULESET     "weeks/05-linux/server/nftables.conf"

/* What server.sh up wrote to .run/server/server.env. */
static struct {
    char name[128], user[64], key[PATH_MAX], known_hosts[PATH_MAX];
    char ssh_port[16];
    int http, app, pg, redis;
} srv;

static void env_value(const char *line, const char *key, char *out, size_t out_len)
{
    size_t n = strlen(key);
    if (strncmp(line, key, n) != 0 || line[n] != '=')
        return;
    const char *v = line + n + 1;
    size_t len = strcspn(v, "\r\n");
    if (len >= 2 && v[0] == '"' && v[len - 1] == '"') {
        v++;
        len -= 2;
    }
    cr_assert(len < out_len, "server.env: %s is too long", key);
    memcpy(out, v, len);
    out[len] = '\0';
}

/* Every check starts here: the server is up (or the suite says why it could not be). */
static void need_server(void)
{
    const char *why = getenv("SERVER_NOT_RUN");
    if (why && *why)
        cr_assert_fail("server checks not run: %s", why);
    const char *path = getenv("SERVER_ENV") ? getenv("SERVER_ENV") : ".run/server/server.env";
    FILE *f = fopen(path, "r");
    cr_assert(f, "server checks not run: cannot read %s (%s): run make test-server", path,
              strerror(errno));
    char line[1024], v[5][16] = {{0}};
    while (fgets(line, sizeof line, f)) {
        env_value(line, "SERVER_NAME", srv.name, sizeof srv.name);
        env_value(line, "SERVER_USER", srv.user, sizeof srv.user);
        env_value(line, "SERVER_SSH_KEY", srv.key, sizeof srv.key);
        env_value(line, "SERVER_KNOWN_HOSTS", srv.known_hosts, sizeof srv.known_hosts);
        env_value(line, "SERVER_SSH_PORT", srv.ssh_port, sizeof srv.ssh_port);
        env_value(line, "SERVER_HTTP_PORT", v[0], sizeof v[0]);
        env_value(line, "SERVER_APP_PORT", v[1], sizeof v[1]);
        env_value(line, "SERVER_PG_PORT", v[2], sizeof v[2]);
        env_value(line, "SERVER_REDIS_PORT", v[3], sizeof v[3]);
    }
    fclose(f);
    srv.http = atoi(v[0]);
    srv.app = atoi(v[1]);
    srv.pg = atoi(v[2]);
    srv.redis = atoi(v[3]);
    cr_assert(srv.name[0] && srv.user[0] && srv.key[0] && srv.known_hosts[0] && srv.ssh_port[0] &&
                  srv.http > 0 && srv.app > 0 && srv.pg > 0 && srv.redis > 0,
              "%s lacks a SERVER_* setting: run make server-up again", path);
}

/* One command on the server over a NEW SSH connection, as the administrator; extra ssh options
 * (NULL-terminated, may be NULL) come first. Returns ssh's exit status (255: ssh itself failed). */
static int on_server(const char *const *opts, const char *cmd, char *out)
{
    char key_opt[PATH_MAX + 32], known_opt[PATH_MAX + 32], dest[128];
    snprintf(key_opt, sizeof key_opt, "%s", srv.key);
    snprintf(known_opt, sizeof known_opt, "UserKnownHostsFile=%s", srv.known_hosts);
    snprintf(dest, sizeof dest, "%s@127.0.0.1", srv.user);
    const char *argv[40] = {"/usr/bin/ssh", "-n",
                            "-i",           key_opt,
                            "-o",           "IdentitiesOnly=yes",
                            "-o",           known_opt,
                            "-o",           "StrictHostKeyChecking=yes",
                            "-o",           "BatchMode=yes",
                            "-o",           "ConnectTimeout=10",
                            "-p",           srv.ssh_port};
    size_t n = 16;
    for (size_t i = 0; opts && opts[i] && n < 36; i++)
        argv[n++] = opts[i];
    argv[n++] = dest;
    argv[n++] = cmd;
    argv[n] = NULL;
    return tk_run(argv, NULL, out, OUT_MAX);
}

/* A command inside the server without SSH (podman exec): how things look from the server. */
static int inside(const char *cmd, char *out)
{
    const char *argv[] = {"/bin/bash", PODMAN_SH, "podman", "exec", srv.name,
                          "bash",      "-c",      cmd,      NULL};
    return tk_run(argv, NULL, out, OUT_MAX);
}

static int run_script(const char *script, const char *a1, const char *a2, char *out)
{
    const char *argv[] = {"/bin/bash", script, a1, a2, NULL};
    return tk_run(argv, NULL, out, OUT_MAX);
}

/* Bytes 127.0.0.1:port sends back within WAIT_MS of a request line; -1 when no connection was
 * made in that time (a dropped SYN), 0 when it was reset or closed without a word. */
static long bytes_back(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    cr_assert(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    long got = -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0 && errno != EINPROGRESS)
        goto cleanup;
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int err = 0;
    socklen_t len = sizeof err;
    if (poll(&p, 1, WAIT_MS) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err)
        goto cleanup;
    got = 0;
    static const char req[] = "GET / HTTP/1.0\r\n\r\n";
    if (send(fd, req, sizeof req - 1, MSG_NOSIGNAL) < 0)
        goto cleanup;
    p.events = POLLIN;
    char buf[256];
    if (poll(&p, 1, WAIT_MS) == 1) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        got = r > 0 ? (long)r : 0;
    }
cleanup:
    close(fd);
    return got;
}

/* ---- the machine ---- */

GRADED(server, systemd_is_pid_1, 2)
{
    need_server();
    char out[OUT_MAX];
    int rc = on_server(NULL, "ps -p 1 -o comm=; systemctl is-system-running || true", out);
    cr_assert_eq(rc, 0, "expected to run `ps -p 1` over SSH; got exit %d: %s", rc, out);
    cr_assert(strncmp(out, "systemd\n", 8) == 0,
              "expected PID 1 to be systemd (podman run --systemd=always); got: %s", out);
    cr_assert(strstr(out, "\nrunning") || strstr(out, "\ndegraded"),
              "expected systemctl is-system-running to say running (or degraded); got: %s", out);
}

/* ---- SSH: keys only ---- */

GRADED(server, ssh_key_login_works, 2)
{
    need_server();
    char out[OUT_MAX];
    int rc = on_server(NULL, "id -un; sudo -n true && echo sudo-ok", out);
    cr_assert_eq(rc, 0, "expected key login as %s to work; got exit %d: %s", srv.user, rc, out);
    cr_assert(strncmp(out, srv.user, strlen(srv.user)) == 0 && strstr(out, "sudo-ok"),
              "expected to be %s with sudo; got: %s", srv.user, out);
}

GRADED(server, ssh_password_login_is_refused, 2)
{
    need_server();
    /* The user has a password (the image sets one): sshd must not even offer to ask for it. */
    const char *const opts[] = {"-o", "PubkeyAuthentication=no", "-o",
                                "PreferredAuthentications=password,keyboard-interactive", NULL};
    char out[OUT_MAX];
    int rc = on_server(opts, "true", out);
    cr_assert_eq(rc, 255, "expected login without the key to fail; got exit %d: %s", rc, out);
    cr_assert(strstr(out, "Permission denied (publickey)"),
              "expected sshd to offer public keys only (\"Permission denied (publickey)\"); "
              "got: %s",
              out);
}

/* ---- the firewall, seen from outside ---- */

GRADED(server, http_port_80_answers, 2)
{
    need_server();
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/", srv.http);
    CURL *c = curl_easy_init();
    cr_assert(c, "curl_easy_init failed");
    struct buf body = {0};
    tk_curl_collect(c, url, NULL, &body, NULL);
    CURLcode res = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    buf_free(&body);
    cr_assert(res == CURLE_OK && status > 0,
              "expected an HTTP answer on the public port 80 (published on %d), redirected to "
              "8080 by nftables; got: %s",
              srv.http, curl_easy_strerror(res));
}

GRADED(server, app_database_and_redis_ports_are_closed_from_outside, 3)
{
    need_server();
    const struct {
        const char *what;
        int port;
    } closed[] = {{"taskd's own port 8080", srv.app},
                  {"PostgreSQL's 5432", srv.pg},
                  {"Redis's 6379", srv.redis}};
    for (size_t i = 0; i < sizeof closed / sizeof closed[0]; i++) {
        long got = bytes_back(closed[i].port);
        cr_assert(got <= 0,
                  "expected %s (published on %d) to be dropped by the firewall; it answered "
                  "%ld bytes",
                  closed[i].what, closed[i].port, got);
    }
}

GRADED(server, the_same_ports_answer_inside, 2)
{
    need_server();
    /* What the firewall closes is there: on the server itself each port accepts. */
    char out[OUT_MAX];
    int rc = inside("for p in 8080 5432 6379 11211; do (exec 3<>/dev/tcp/127.0.0.1/$p) "
                    "2>/dev/null && echo open $p || echo closed $p; done",
                    out);
    cr_assert_eq(rc, 0, "podman exec failed (exit %d): %s", rc, out);
    cr_assert(strstr(out, "open 8080") && strstr(out, "open 5432") && strstr(out, "open 6379") &&
                  strstr(out, "open 11211"),
              "expected taskd (or the probe) on 8080, PostgreSQL, Redis and memcached to accept "
              "on the server's loopback; got: %s",
              out);
}

GRADED(server, the_operators_tools_are_installed, 1)
{
    need_server();
    /* The ops scripts and the runbook lab run these on the server (provision.yml). */
    char out[OUT_MAX];
    int rc = inside("for t in jq lsof strace ps ss fuser journalctl; do "
                    "command -v $t >/dev/null && echo have $t || echo missing $t; done",
                    out);
    cr_assert_eq(rc, 0, "podman exec failed (exit %d): %s", rc, out);
    cr_assert(strstr(out, "missing") == NULL,
              "expected provisioning to install the operator's tools (provision.yml, "
              "operator_packages); got: %s",
              out);
}

GRADED(server, services_listen_on_loopback_only, 2)
{
    need_server();
    char out[OUT_MAX];
    int rc = inside("ss -Htln '( sport = :5432 or sport = :6379 or sport = :11211 )' "
                    "| awk '{ print $4 }'",
                    out);
    cr_assert_eq(rc, 0, "podman exec ss failed (exit %d): %s", rc, out);
    cr_assert(out[0], "expected PostgreSQL, Redis and memcached to listen; ss shows nothing");
    char *save = NULL;
    for (char *l = strtok_r(out, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        cr_assert(strncmp(l, "127.0.0.1:", 10) == 0 || strncmp(l, "[::1]:", 6) == 0,
                  "expected every service socket on loopback; found one on %s", l);
}

/* ---- changing the firewall safely ---- */

/* The repository's ruleset with the lines that contain `drop` removed or `extra` added after
 * the loopback rule, written to a file of the test's own. */
static void variant(const char *path, const char *drop, const char *extra)
{
    FILE *in = fopen(RULESET, "r");
    cr_assert(in, "cannot read %s: %s", RULESET, strerror(errno));
    FILE *out = fopen(path, "w");
    cr_assert(out, "cannot write %s: %s", path, strerror(errno));
    char line[512];
    while (fgets(line, sizeof line, in)) {
        if (drop && strstr(line, drop))
            continue;
        fputs(line, out);
        if (extra && strstr(line, "iif \"lo\" accept"))
            fprintf(out, "\t\t%s\n", extra);
    }
    fclose(in);
    cr_assert(fclose(out) == 0, "cannot write %s", path);
}

GRADED(server, firewall_refuses_a_ruleset_without_ssh, 3)
{
    need_server();
    char path[] = "/tmp/server-nossh-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
    close(fd);
    variant(path, "tcp dport 22", NULL);
    char out[OUT_MAX];
    int check = run_script(FIREWALL_SH, "check", path, out);
    cr_assert(check != 0 && strstr(out, "lock SSH out"),
              "expected firewall.sh check to refuse a ruleset with no SSH rule; got exit %d: %s",
              check, out);
    int apply = run_script(FIREWALL_SH, "apply", path, out);
    unlink(path);
    cr_assert(apply != 0 && strstr(out, "not applied"),
              "expected firewall.sh apply to refuse it too; got exit %d: %s", apply, out);
    int rc = on_server(NULL, "sudo nft list chain inet filter input", out);
    cr_assert_eq(rc, 0, "expected the server to stay reachable over SSH; got exit %d: %s", rc, out);
    cr_assert(strstr(out, "tcp dport 22 accept"), "expected the SSH rule still in force: %s", out);
}

GRADED(server, firewall_rolls_back_a_ruleset_that_locks_ssh_out, 3, .timeout = 180)
{
    need_server();
    /* It passes the static check (the SSH accept rule is there) but a drop comes first: only
     * the new connection after loading it can tell, and the server's timer must undo it. */
    char path[] = "/tmp/server-lockout-XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0, "mkstemp: %s", strerror(errno));
    close(fd);
    variant(path, NULL, "tcp dport 22 drop");
    char out[OUT_MAX];
    const char *const env[] = {"FIREWALL_CONFIRM_SECONDS=15", NULL};
    const char *argv[] = {"/bin/bash", FIREWALL_SH, "apply", path, NULL};
    int rc = tk_run(argv, env, out, OUT_MAX);
    unlink(path);
    cr_assert(rc != 0 && strstr(out, "rolled back"),
              "expected firewall.sh apply to roll back a ruleset that drops SSH; got exit %d: %s",
              rc, out);
    rc = on_server(NULL, "sudo nft list chain inet filter input", out);
    cr_assert_eq(rc, 0, "expected a new SSH connection to work after the rollback; exit %d: %s", rc,
                 out);
    cr_assert(!strstr(out, "tcp dport 22 drop") && strstr(out, "tcp dport 22 accept"),
              "expected the previous ruleset in force again; got: %s", out);
}

/* ---- provisioning ---- */

GRADED(server, provisioning_is_idempotent, 3, .timeout = 900)
{
    need_server();
    /* test-server.sh provisioned the server before the suite; a second run must change nothing. */
    static char out[1 << 20];
    const char *argv[] = {"/bin/bash", SERVER_SH, "provision", NULL};
    int rc = tk_run(argv, NULL, out, sizeof out);
    const char *recap = strstr(out, "PLAY RECAP");
    cr_assert(rc == 0 && recap, "expected ansible-playbook to succeed; got exit %d: %.2000s", rc,
              recap ? recap : out);
    cr_assert(strstr(recap, "changed=0 ") && strstr(recap, "failed=0 "),
              "expected the second provisioning run to change nothing; got: %.500s", recap);
}
