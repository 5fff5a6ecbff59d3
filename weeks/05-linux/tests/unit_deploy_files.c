/* unit_deploy_files.c — week 5's files that are not C, graded for real: the systemd unit's
 * hardening (systemd-analyze), the firewall's input chain (nft, loaded into a scratch network
 * namespace and probed with TCP connects) and the backup script's order (run against stand-in
 * pg_dump/pg_restore). Exercises 5.6, 5.7 and 5.8 of lab 5.
 *
 * Which files: the week's own (weeks/05-linux/deploy, server, ops) for `make test-week-5`; the
 * learner's copies when TASKD_LAB_FILES names a directory (labs.mk sets it to labs/05-linux for
 * `make lab-5`, lab-check-5 and solution-5). Paths are relative to the repository's root, where
 * the suites run.
 *
 * The firewall tests need root (network namespaces, nft); the unit tests need systemd-analyze;
 * weeks/05-linux/packages installs both. Nothing here touches the host's own network: the
 * ruleset is loaded into a namespace made for the test, and the namespaces are deleted after each
 * test, passed or failed. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testkit.h"

/* ---- helpers ---- */

/* The file NAME: the learner's copy in $TASKD_LAB_FILES, else the week's, in SUBDIR. */
static void deploy_file(char *buf, size_t len, const char *subdir, const char *name)
{
    const char *lab = getenv("TASKD_LAB_FILES");
    if (lab && *lab)
        snprintf(buf, len, "%s/%s", lab, name);
    else
        snprintf(buf, len, "weeks/05-linux/%s/%s", subdir, name);
    cr_assert(access(buf, R_OK) == 0, "cannot read %s (the suites run from the repository's root)",
              buf);
}

/* run CMD (through sh, stderr joined to stdout): its exit status, its output in OUT. */
static int run(const char *cmd, char *out, size_t out_len)
{
    FILE *p = popen(cmd, "r");
    cr_assert(p, "popen(%s): %s", cmd, strerror(errno));
    size_t used = 0, got;
    char chunk[1024];
    while ((got = fread(chunk, 1, sizeof chunk, p)) > 0) {
        size_t room = out_len - 1 - used;
        if (got > room)
            got = room;
        memcpy(out + used, chunk, got);
        used += got;
    }
    out[used] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static char scratch[64]; /* the test's temporary directory (rm -rf after each test) */

static void make_scratch(void)
{
    snprintf(scratch, sizeof scratch, "/tmp/unit-deploy.XXXXXX");
    cr_assert(mkdtemp(scratch), "mkdtemp: %s", strerror(errno));
}

static void remove_scratch(void)
{
    char cmd[128];
    if (scratch[0]) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", scratch);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", scratch);
    }
    scratch[0] = '\0';
}

/* ---- 5.6 the unit's hardening ---- */

TestSuite(hardening, .init = make_scratch, .fini = remove_scratch);

GRADED(hardening, the_unit_is_exposed_2_0_or_less, 3)
{
    char path[512], cmd[1024], out[65536];
    deploy_file(path, sizeof path, "deploy", "taskd.service");
    snprintf(cmd, sizeof cmd, "systemd-analyze security --offline=true '%s' 2>&1", path);
    int rc = run(cmd, out, sizeof out);
    const char *line = strstr(out, "Overall exposure level for ");
    double exposure = 0;
    const char *colon = line ? strchr(line, ':') : NULL;
    cr_assert(colon && sscanf(colon + 1, "%lf", &exposure) == 1,
              "5.6: `%s` printed no overall exposure (exit %d):\n%s", cmd, rc, out);
    cr_assert(exposure <= 2.0,
              "5.6: systemd-analyze security rates %s's exposure %.1f, expected 2.0 or less: run "
              "`systemd-analyze security --offline=true %s` and close what the ✗ lines name",
              path, exposure, path);
}

/* `systemd-analyze verify` checks that ExecStart='s program exists and is executable, and
 * /usr/bin/taskd is only there once the package is installed (make test-deploy does that, in a
 * container). So the unit is verified as a copy whose ExecStart= alone is /bin/true: every other
 * line, the hardening included, is the learner's, and a directive verify does not know or a value
 * it cannot parse is still reported. verify exits 0 on those (it only warns), so the test asks
 * for no output at all. */
GRADED(hardening, the_unit_verifies_without_a_warning, 1)
{
    char path[512], copy[128], cmd[2048], out[16384];
    deploy_file(path, sizeof path, "deploy", "taskd.service");
    snprintf(copy, sizeof copy, "%s/taskd.service", scratch);
    snprintf(cmd, sizeof cmd,
             "grep -qx 'ExecStart=/usr/bin/taskd' '%s' && "
             "sed 's|^ExecStart=/usr/bin/taskd$|ExecStart=/bin/true|' '%s' > '%s' 2>&1",
             path, path, copy);
    cr_assert(run(cmd, out, sizeof out) == 0,
              "5.6: %s has no line ExecStart=/usr/bin/taskd any more (leave it as it was) %s", path,
              out);
    snprintf(cmd, sizeof cmd, "systemd-analyze verify '%s' 2>&1", copy);
    int rc = run(cmd, out, sizeof out);
    cr_assert(rc == 0 && out[0] == '\0',
              "5.6: systemd-analyze verify finds fault with %s (exit %d; line numbers are the "
              "file's own):\n%s",
              path, rc, out);
}

/* What the analyzer would score, but taskd cannot do without: it serves HTTP to anyone (the
 * firewall, 5.7, chooses who), and reaches PostgreSQL over a Unix socket. */
GRADED(hardening, taskd_keeps_the_network_it_serves_on, 1)
{
    static const char *const needed[] = {
        "PrivateNetwork=", "IPAddressDeny=", "RestrictAddressFamilies=~AF_(INET|INET6)",
        "RestrictAddressFamilies=~AF_UNIX"};
    char path[512], cmd[1024];
    static char out[262144];
    deploy_file(path, sizeof path, "deploy", "taskd.service");
    snprintf(cmd, sizeof cmd,
             "systemd-analyze security --offline=true --json=short '%s' 2>/dev/null", path);
    run(cmd, out, sizeof out);
    cJSON *all = cJSON_Parse(out);
    cr_assert(cJSON_IsArray(all), "5.6: `%s` printed no JSON:\n%.2000s", cmd, out);
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
        bool found = false;
        const cJSON *c;
        cJSON_ArrayForEach(c, all)
        {
            const cJSON *name = cJSON_GetObjectItem(c, "name");
            if (!cJSON_IsString(name) || strcmp(name->valuestring, needed[i]) != 0)
                continue;
            found = true;
            cr_assert(!cJSON_IsTrue(cJSON_GetObjectItem(c, "set")),
                      "5.6: %s sets %s: taskd would lose the network it serves on (HTTP from "
                      "anyone, PostgreSQL over a Unix socket); which port the world reaches is "
                      "the firewall's job (5.7)",
                      path, needed[i]);
        }
        cr_assert(found, "5.6: systemd-analyze's report has no line %s", needed[i]);
    }
    cJSON_Delete(all);
}

/* ---- 5.7 the firewall's input chain ---- */

/* Two namespaces made for the test: "server" (the ruleset, the listeners) and "client" (the
 * outside world), joined by a veth pair. Named after the test's pid, so parallel tests (--jobs)
 * and a stale pair from a killed run never clash. */
#define SERVER_IP "10.211.0.1"
#define CLIENT_IP "10.211.0.2"
static char ns_server[32], ns_client[32];

static void delete_namespaces(void)
{
    char cmd[256];
    if (!ns_server[0])
        return;
    snprintf(cmd, sizeof cmd, "ip netns del %s 2>/dev/null; ip netns del %s 2>/dev/null", ns_server,
             ns_client);
    if (system(cmd) == -1)
        fprintf(stderr, "could not delete the namespaces %s and %s\n", ns_server, ns_client);
    ns_server[0] = ns_client[0] = '\0';
}

/* Namespaces left by a run that was killed (its pid is gone), so they do not pile up. */
static void delete_stale_namespaces(void)
{
    char out[8192], cmd[128];
    run("ip netns list 2>/dev/null", out, sizeof out);
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n")) {
        unsigned pid;
        char side;
        if (sscanf(line, "tkfw%u%c", &pid, &side) != 2 || (side != 's' && side != 'c'))
            continue;
        snprintf(cmd, sizeof cmd, "/proc/%u", pid);
        if (access(cmd, F_OK) == 0)
            continue;
        snprintf(cmd, sizeof cmd, "ip netns del tkfw%u%c 2>/dev/null", pid, side);
        if (system(cmd) == -1)
            fprintf(stderr, "could not delete tkfw%u%c\n", pid, side);
    }
}

static void firewall_fini(void)
{
    delete_namespaces();
    remove_scratch();
}

TestSuite(firewall, .init = make_scratch, .fini = firewall_fini, .timeout = 60);

/* The namespaces, with the learner's ruleset checked (nft -c) and loaded in the server's. */
static void load_ruleset(void)
{
    char path[512], cmd[2048], out[16384];
    cr_assert(getuid() == 0, "5.7: the firewall tests make network namespaces: run them as root");
    delete_stale_namespaces();
    deploy_file(path, sizeof path, "server", "nftables.conf");
    snprintf(ns_server, sizeof ns_server, "tkfw%ds", (int)getpid());
    snprintf(ns_client, sizeof ns_client, "tkfw%dc", (int)getpid());
    snprintf(
        cmd, sizeof cmd,
        "set -e; ip netns add %1$s; ip netns add %2$s;"
        " ip link add tkfw%3$da netns %1$s type veth peer name tkfw%3$db netns %2$s;"
        " ip -n %1$s addr add " SERVER_IP "/24 dev tkfw%3$da; ip -n %1$s link set tkfw%3$da up;"
        " ip -n %2$s addr add " CLIENT_IP "/24 dev tkfw%3$db; ip -n %2$s link set tkfw%3$db up;"
        " ip -n %1$s link set lo up; ip -n %2$s link set lo up 2>&1",
        ns_server, ns_client, (int)getpid());
    cr_assert(run(cmd, out, sizeof out) == 0,
              "5.7: could not make the test's network namespaces:\n%s", out);
    snprintf(cmd, sizeof cmd, "ip netns exec %s nft -c -f '%s' 2>&1", ns_server, path);
    cr_assert(run(cmd, out, sizeof out) == 0, "5.7: nft -c rejects %s:\n%s", path, out);
    snprintf(cmd, sizeof cmd, "ip netns exec %s nft -f '%s' 2>&1", ns_server, path);
    cr_assert(run(cmd, out, sizeof out) == 0, "5.7: nft -f could not load %s:\n%s", path, out);
}

/* A TCP socket made inside the namespace NAME (setns switches only this thread, and back). */
static int socket_in(const char *name)
{
    char path[64];
    snprintf(path, sizeof path, "/run/netns/%s", name);
    int here = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
    int there = open(path, O_RDONLY | O_CLOEXEC);
    cr_assert(here >= 0 && there >= 0, "open %s: %s", path, strerror(errno));
    cr_assert(setns(there, CLONE_NEWNET) == 0, "setns(%s): %s", name, strerror(errno));
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int err = errno;
    cr_assert(setns(here, CLONE_NEWNET) == 0, "setns back: %s", strerror(errno));
    close(here);
    close(there);
    cr_assert(fd >= 0, "socket: %s", strerror(err));
    return fd;
}

static struct sockaddr_in address(const char *ip, int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    inet_pton(AF_INET, ip, &a.sin_addr);
    return a;
}

/* A listener on every address of namespace NAME, port PORT (non-blocking, for drain()). */
static int listen_in(const char *name, int port)
{
    int fd = socket_in(name), one = 1;
    struct sockaddr_in a = address("0.0.0.0", port);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    cr_assert(bind(fd, (struct sockaddr *)&a, sizeof a) == 0, "bind %s:%d: %s", name, port,
              strerror(errno));
    cr_assert(listen(fd, 64) == 0, "listen: %s", strerror(errno));
    fcntl(fd, F_SETFL, O_NONBLOCK);
    return fd;
}

/* Accepts and closes what is queued, so a full backlog never passes for a dropped SYN. */
static void drain(int listener)
{
    int c;
    while ((c = accept(listener, NULL, NULL)) >= 0)
        close(c);
}

/* Connects from namespace NAME to IP:PORT: 0 when the handshake completes within TIMEOUT_MS,
 * else the errno (ECONNREFUSED: a reset; ETIMEDOUT: no answer, i.e. dropped). */
static int probe(const char *name, const char *ip, int port, int timeout_ms)
{
    int fd = socket_in(name), err = 0;
    struct sockaddr_in a = address(ip, port);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) {
        err = errno;
        if (err == EINPROGRESS) {
            struct pollfd p = {.fd = fd, .events = POLLOUT};
            if (poll(&p, 1, timeout_ms) == 1) {
                socklen_t len = sizeof err;
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            } else {
                err = ETIMEDOUT;
            }
        }
    }
    close(fd);
    return err;
}

GRADED(firewall, the_ruleset_loads_and_port_80_reaches_taskd, 1)
{
    load_ruleset();
    int taskd = listen_in(ns_server, 8080);
    int err = probe(ns_client, SERVER_IP, 80, 1000);
    cr_assert(err == 0,
              "5.7: a connection from outside to port 80 (redirected to taskd's 8080) got no "
              "answer: %s. The public HTTP port must stay open",
              strerror(err));
    close(taskd);
}

GRADED(firewall, taskd_postgres_and_redis_are_closed_from_outside, 3)
{
    static const int closed[] = {8080, 5432, 6379};
    load_ruleset();
    for (size_t i = 0; i < sizeof closed / sizeof closed[0]; i++) {
        /* Something listens on each: only the firewall can keep the connection out. */
        int l = listen_in(ns_server, closed[i]);
        int err = probe(ns_client, SERVER_IP, closed[i], 300);
        cr_assert(err != 0,
                  "5.7: port %d answered from outside: a listener there is reachable by anyone "
                  "(only port 80, redirected by the nat table, may reach taskd; PostgreSQL and "
                  "Redis are for the server itself)",
                  closed[i]);
        close(l);
    }
}

GRADED(firewall, ssh_is_open_but_rate_limited_per_source, 2)
{
    load_ruleset();
    int sshd = listen_in(ns_server, 22);
    int answered = 0, err = 0;
    /* 30 new connections a minute (burst 30) is the budget: a bot's 31st+ is dropped. */
    for (int i = 0; i < 45 && (err = probe(ns_client, SERVER_IP, 22, 300)) == 0; i++) {
        answered++;
        drain(sshd);
    }
    cr_assert(answered >= 5, "5.7: SSH (port 22) is not open from outside: the %s try got %s",
              answered == 0 ? "first" : "next", strerror(err));
    cr_assert(answered < 45,
              "5.7: SSH answered 45 new connections from one address within seconds: rate limit "
              "new SSH connections per source (a password-guessing bot opens hundreds)");
    close(sshd);
}

GRADED(firewall, loopback_and_answers_to_our_own_connections_pass, 2)
{
    load_ruleset();
    int redis = listen_in(ns_server, 6379);
    int err = probe(ns_server, "127.0.0.1", 6379, 1000);
    cr_assert(err == 0,
              "5.7: on the server itself, 127.0.0.1:6379 got no answer (%s): accept loopback, "
              "taskd reaches Redis and PostgreSQL there",
              strerror(err));
    /* The server opens a connection out (to a package mirror, an SMTP relay): the answer comes
     * back through the input chain. */
    int outside = listen_in(ns_client, 7000);
    err = probe(ns_server, CLIENT_IP, 7000, 1000);
    cr_assert(err == 0,
              "5.7: the server's own connection out to %s:7000 got no answer (%s): accept the "
              "packets of established connections",
              CLIENT_IP, strerror(err));
    close(redis);
    close(outside);
}

/* ---- 5.8 the backup's order ---- */

/* The real dump and restore are test-ops.sh's (make test-ops, against PostgreSQL). Here the
 * script's order is what counts, so pg_dump and pg_restore are stand-ins that behave as FAKE_PG
 * says (ok, fail: dies half-way, truncated: writes a dump that lists its tables but does not read
 * to the end) and log where pg_dump wrote. */
static const char fake_pg_dump[] =
    "#!/bin/sh\n"
    "out=''\n"
    "while [ $# -gt 0 ]; do\n"
    "  case $1 in -f | --file) out=$2; shift ;; --file=*) out=${1#--file=} ;; esac\n"
    "  shift\n"
    "done\n"
    "[ -n \"$out\" ] || { echo 'pg_dump (test stand-in): no -f FILE' >&2; exit 1; }\n"
    "echo \"$out\" >>\"$FAKE_LOG\"\n"
    "case $FAKE_PG in\n"
    "  fail) echo 'FAKE DUMP' >\"$out\"; echo 'pg_dump: error: connection lost' >&2; exit 1 ;;\n"
    "  truncated) printf 'FAKE DUMP\\nTRUNCATED\\n' >\"$out\" ;;\n"
    "  *) printf 'FAKE DUMP\\nall the rows\\n' >\"$out\" ;;\n"
    "esac\n";
static const char fake_pg_restore[] =
    "#!/bin/sh\n"
    "file=''\n"
    "for a in \"$@\"; do file=$a; done\n"
    "[ \"$(head -n 1 \"$file\" 2>/dev/null)\" = 'FAKE DUMP' ] ||"
    " { echo \"pg_restore: error: $file is not an archive\" >&2; exit 1; }\n"
    "case \" $* \" in *' --list '* | *' -l '*)"
    " echo '3; 2606 16390 TABLE DATA public tasks taskd'; exit 0 ;; esac\n"
    "if grep -q TRUNCATED \"$file\"; then echo 'pg_restore: error: unexpected end of file' >&2;"
    " exit 1; fi\n";

static void write_script(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    cr_assert(f, "fopen %s: %s", path, strerror(errno));
    fputs(text, f);
    fclose(f);
    chmod(path, 0755);
}

static void backup_init(void)
{
    char path[256];
    make_scratch();
    snprintf(path, sizeof path, "%s/bin", scratch);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/dumps", scratch);
    mkdir(path, 0700);
    snprintf(path, sizeof path, "%s/bin/pg_dump", scratch);
    write_script(path, fake_pg_dump);
    snprintf(path, sizeof path, "%s/bin/pg_restore", scratch);
    write_script(path, fake_pg_restore);
}

TestSuite(backup, .init = backup_init, .fini = remove_scratch);

/* An old backup, as a previous night left it. */
static void old_dump(const char *stamp)
{
    char path[256];
    snprintf(path, sizeof path, "%s/dumps/taskd-%s.dump", scratch, stamp);
    write_script(path, "FAKE DUMP\nan older night\n");
}

static bool dump_exists(const char *stamp)
{
    char path[256];
    snprintf(path, sizeof path, "%s/dumps/taskd-%s.dump", scratch, stamp);
    return access(path, F_OK) == 0;
}

/* backup.sh with the stand-ins, the dump of --now STAMP: its exit status, its output in OUT. */
static int backup(const char *mode, const char *stamp, const char *keep, char *out, size_t len)
{
    char path[512], cmd[2048];
    deploy_file(path, sizeof path, "ops", "backup.sh");
    snprintf(cmd, sizeof cmd,
             "PG_BIN='%1$s/bin' FAKE_PG=%2$s FAKE_LOG='%1$s/pg_dump.log' TMPDIR='%1$s' "
             "bash '%3$s' --url postgresql://taskd:secret@127.0.0.1:1/taskd --dir '%1$s/dumps' "
             "--now %4$s %5$s 2>&1",
             scratch, mode, path, stamp, keep);
    return run(cmd, out, len);
}

/* The names in the dump directory that are not STAMPS' dumps (a .partial left behind...). */
static void strays(char *out, size_t len)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd,
             "ls -A '%s/dumps' | grep -v '^taskd-[0-9]\\{8\\}T[0-9]\\{6\\}Z\\.dump$'", scratch);
    run(cmd, out, len);
}

GRADED(backup, a_verified_dump_is_renamed_into_place, 2)
{
    char out[8192], left[1024], log[1024], cmd[256];
    int rc = backup("ok", "20261205T031500Z", "", out, sizeof out);
    cr_assert(rc == 0, "5.8: backup.sh exited %d for a good dump:\n%s", rc, out);
    cr_assert(dump_exists("20261205T031500Z"),
              "5.8: backup.sh exited 0 but wrote no taskd-20261205T031500Z.dump:\n%s", out);
    snprintf(cmd, sizeof cmd, "cat '%s/pg_dump.log'", scratch);
    run(cmd, log, sizeof log);
    const char *slash = strrchr(log, '/');
    cr_assert(slash && slash[1] == '.' && strstr(log, "/dumps/"),
              "5.8: pg_dump wrote to %s: dump into a hidden file beside the backups (a name "
              "rotation never takes for a backup), and rename it when it verifies",
              log[0] ? log : "nowhere (pg_dump never ran)\n");
    strays(left, sizeof left);
    cr_assert(left[0] == '\0', "5.8: after a good dump the directory still holds:\n%s", left);
}

GRADED(backup, rotation_keeps_the_newest_of_each_day_and_week, 2)
{
    static const char *const kept[] = {"20261204T030000Z", "20261128T030000Z"};
    static const char *const dropped[] = {"20261205T010000Z", "20261203T030000Z",
                                          "20261120T030000Z"};
    char out[8192];
    for (size_t i = 0; i < 2; i++)
        old_dump(kept[i]);
    for (size_t i = 0; i < 3; i++)
        old_dump(dropped[i]);
    int rc = backup("ok", "20261205T031500Z", "--daily 2 --weekly 2", out, sizeof out);
    cr_assert(rc == 0, "5.8: backup.sh exited %d:\n%s", rc, out);
    cr_assert(dump_exists("20261205T031500Z"), "5.8: the new dump is not there:\n%s", out);
    for (size_t i = 0; i < 2; i++)
        cr_assert(dump_exists(kept[i]),
                  "5.8: --daily 2 --weekly 2 deleted taskd-%s.dump, the newest of its %s", kept[i],
                  i == 0 ? "day (the 2nd newest day)" : "ISO week (the 2nd newest week)");
    for (size_t i = 0; i < 3; i++)
        cr_assert(!dump_exists(dropped[i]),
                  "5.8: --daily 2 --weekly 2 kept taskd-%s.dump: rotate what keepers does not "
                  "keep:\n%s",
                  dropped[i], out);
}

static void nothing_deleted(const char *mode, const char *what)
{
    static const char *const old[] = {"20261204T030000Z", "20261203T030000Z", "20261202T030000Z"};
    char out[8192], left[1024];
    for (size_t i = 0; i < 3; i++)
        old_dump(old[i]);
    int rc = backup(mode, "20261205T031500Z", "--daily 1 --weekly 0", out, sizeof out);
    cr_assert(rc == 1, "5.8: backup.sh exited %d when %s, expected 1:\n%s", rc, what, out);
    for (size_t i = 0; i < 3; i++)
        cr_assert(dump_exists(old[i]),
                  "5.8: when %s, backup.sh deleted taskd-%s.dump: rotate only after the new "
                  "dump verified",
                  what, old[i]);
    cr_assert(!dump_exists("20261205T031500Z"),
              "5.8: when %s, backup.sh still published taskd-20261205T031500Z.dump", what);
    strays(left, sizeof left);
    cr_assert(left[0] == '\0', "5.8: when %s, the directory is left holding:\n%s", what, left);
}

GRADED(backup, a_failed_dump_deletes_nothing, 2)
{
    nothing_deleted("fail", "pg_dump fails");
}

GRADED(backup, a_dump_that_does_not_verify_deletes_nothing, 2)
{
    nothing_deleted("truncated", "the new dump does not read to the end");
}
