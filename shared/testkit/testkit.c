/* testkit.c — servers, HTTP requests and assertions for the graded suites (see testkit.h).
 *
 * A server is a real child process of the stage binary: it gets PORT=0 (the kernel picks a free
 * port, so suites never collide) and a fresh SQLite file in its own temp directory, and the kit
 * reads the port from the server's "listening" log line. Requests go through libcurl with one
 * reused handle per test process, so keep-alive is exercised like a real client would. */
#include "testkit.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "tk_raw.h"

#define START_TIMEOUT_MS 10000
#define STOP_TIMEOUT_MS  10000
/* Prism (node) starts in seconds on an idle machine; 30 s and, with three at once, over 120 s
 * were seen on a loaded one. */
#define PROXY_START_TIMEOUT_MS 300000
#define ENV_MAX                512

extern char **environ;

struct tk_server {
    pid_t pid; /* 0 for the shared server seen from a test process */
    char url[64];
    char dir[64];
    char log[128];
    char db[512];    /* "DATABASE_URL=..." the server was given */
    bool own_db;     /* db was made by TK_FRESH_DB_CMD for this server: drop it after */
    char auth[2048]; /* "Authorization: Bearer <token>" sent with every request, or "" */
    /* With TK_PROXY, the validating proxy in front of the shared server: tk_request goes
     * through it, while raw sockets and a test's own libcurl client still use url. */
    char proxy_url[64];
    pid_t proxy_pid;
};

/* ------------------------------------------------------------------ small helpers */

long tk_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

unsigned char *tk_b64url_decode(const char *text, size_t len, size_t *out_len)
{
    /* OpenSSL decodes the standard alphabet with padding: translate, pad, and drop the zero bytes
     * the padding stands for. A test's decoder is independent of the service's this way. */
    size_t pad = (4 - len % 4) % 4;
    if (pad == 3 || len > (size_t)INT32_MAX / 2)
        return NULL;
    char *std = malloc(len + pad + 1);
    unsigned char *out = malloc((len + pad) / 4 * 3 + 1);
    int n = -1;
    if (!std || !out)
        goto done;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c == '+' || c == '/' || c == '=' || c == '\0')
            goto done;
        std[i] = c == '-' ? '+' : c == '_' ? '/' : c;
    }
    memset(std + len, '=', pad);
    n = EVP_DecodeBlock(out, (const unsigned char *)std, (int)(len + pad));
done:
    free(std);
    if (n < 0) {
        free(out);
        return NULL;
    }
    n -= (int)pad;
    out[n] = '\0';
    *out_len = (size_t)n;
    return out;
}

void tk_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int tk_run_dir_claim(const char *dir)
{
    /* Field 22 of /proc/self/stat, the start time: with the PID it names this process and no
     * later one that reuses the PID. The name (field 2) may hold spaces: count after its ')'. */
    size_t n = 0;
    char *stat = tk_read_file("/proc/self/stat", &n);
    const char *p = stat ? strrchr(stat, ')') : NULL;
    for (int field = 2; p && field < 22; field++)
        p = strchr(p + 1, ' ');
    unsigned long long start = p ? strtoull(p + 1, NULL, 10) : 0;
    free(stat);
    if (start == 0)
        return -1;
    char path[512];
    snprintf(path, sizeof path, "%s/owner", dir);
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    fprintf(f, "%ld %llu\n", (long)getpid(), start);
    return fclose(f) == 0 ? 0 : -1;
}

char *tk_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct buf b = BUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    buf_append(&b, "", 0); /* an empty file still gives "" */
    if (b.failed) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b, len);
}

const char *tk_graded_file(const char *lab_name, const char *repo_path)
{
    static char path[1024];
    const char *lab = getenv("TASKD_LAB_FILES");
    if (lab && *lab)
        snprintf(path, sizeof path, "%s/%s", lab, lab_name);
    else
        snprintf(path, sizeof path, "%s", repo_path);
    cr_assert(access(path, R_OK) == 0, "cannot read %s (the suites run from the repository's root)",
              path);
    return path;
}

/* ------------------------------------------------------------------ leftovers
 * What a test started and has not stopped: its private servers and processes. A test that fails
 * a cr_assert ends without reaching its tk_server_stop or tk_proc_stop. fork_tied (below) makes
 * the processes end with it; this list also stops them properly at exit, so their directories
 * and databases go too, and a sanitizer build reports the failed assertion, not a leak. Only what
 * this process started is stopped (owner): a forked test inherits its runner's list. */
enum leftover_kind { LEFTOVER_SERVER, LEFTOVER_PROC };
struct leftover {
    enum leftover_kind kind;
    void *what;
    pid_t owner;
};
#define LEFTOVERS_MAX 64
static struct leftover leftovers[LEFTOVERS_MAX];
static size_t n_leftovers;
static pthread_mutex_t leftovers_lock = PTHREAD_MUTEX_INITIALIZER;

static void stop_leftovers(void)
{
    pid_t me = getpid();
    for (;;) {
        struct leftover l = {0};
        pthread_mutex_lock(&leftovers_lock);
        for (size_t i = 0; i < n_leftovers && !l.what; i++)
            if (leftovers[i].owner == me)
                l = leftovers[i];
        pthread_mutex_unlock(&leftovers_lock);
        if (!l.what)
            return;
        if (l.kind == LEFTOVER_SERVER)
            tk_server_stop(l.what); /* each stop takes its entry off the list */
        else
            tk_proc_stop(l.what, SIGTERM, STOP_TIMEOUT_MS);
    }
}

static void leftover_add(enum leftover_kind kind, void *what)
{
    static bool at_exit;
    pthread_mutex_lock(&leftovers_lock);
    if (!at_exit)
        at_exit = atexit(stop_leftovers) == 0;
    if (n_leftovers < LEFTOVERS_MAX) /* beyond that, fork_tied alone ends them */
        leftovers[n_leftovers++] = (struct leftover){kind, what, getpid()};
    pthread_mutex_unlock(&leftovers_lock);
}

static void leftover_remove(const void *what)
{
    pthread_mutex_lock(&leftovers_lock);
    for (size_t i = 0; i < n_leftovers; i++) {
        if (leftovers[i].what == what) {
            leftovers[i] = leftovers[--n_leftovers];
            break;
        }
    }
    pthread_mutex_unlock(&leftovers_lock);
}

/* fork(), with the child tied to the test process: it gets SIGTERM when the test ends. A test
 * that fails an assertion ends its process without reaching tk_server_stop or tk_proc_stop, and
 * what it started must not outlive it (a leaked server would keep running after the suite).
 * Only async-signal-safe calls in the child. */
static pid_t fork_tied(void)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        if (getppid() != parent)
            _exit(1); /* the test ended before prctl took effect */
    }
    return pid;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

const char *tk_unique(const char *prefix, char *buf, size_t buf_len)
{
    static unsigned counter;
    snprintf(buf, buf_len, "%s-%ld-%u-%ld", prefix, (long)getpid(), ++counter,
             tk_now_ms() % 100000);
    return buf;
}

const char *tk_urlencode(const char *s, char *buf, size_t buf_len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < buf_len; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~') {
            buf[o++] = (char)*p;
        } else {
            buf[o++] = '%';
            buf[o++] = hex[*p >> 4];
            buf[o++] = hex[*p & 15];
        }
    }
    buf[o] = '\0';
    return buf;
}

/* ------------------------------------------------------------------ servers */

/* Finds "port":N in a "listening" line of the log. */
static int port_from_log(const char *log)
{
    const char *line = strstr(log, "\"msg\":\"listening\"");
    if (!line)
        return 0;
    const char *p = strstr(line, "\"port\":");
    return p ? atoi(p + 7) : 0;
}

static void print_log_tail(const char *path)
{
    size_t len = 0;
    char *log = tk_read_file(path, &len);
    if (!log)
        return;
    const char *tail = len > 3000 ? log + len - 3000 : log;
    fprintf(stderr, "---- server log (%s), last lines ----\n%s\n----\n", path, tail);
    free(log);
}

/* Adds "NAME=value" settings from a space-separated list (TASKD_ENV). */
static size_t add_env_list(char **env, size_t n, char *list)
{
    for (char *save = NULL, *tok = strtok_r(list, " ", &save); tok && n < ENV_MAX - 1;
         tok = strtok_r(NULL, " ", &save))
        env[n++] = tok;
    return n;
}

/* Runs TK_FRESH_DB_CMD and puts "DATABASE_URL=<its output>" in out. Returns 1 when the variable
 * is unset (use SQLite), 0 otherwise (out is empty when the command failed). */
static int fresh_database(char *out, size_t out_len)
{
    const char *cmd = getenv("TK_FRESH_DB_CMD");
    out[0] = '\0';
    if (!cmd || !*cmd)
        return 1;
    FILE *p = popen(cmd, "r");
    char url[480] = "";
    if (p) {
        if (!fgets(url, sizeof url, p))
            url[0] = '\0';
        if (pclose(p) != 0)
            url[0] = '\0';
    }
    url[strcspn(url, "\r\n")] = '\0';
    if (!url[0]) {
        fprintf(stderr, "testkit: TK_FRESH_DB_CMD (%s) gave no database URL\n", cmd);
        return 0;
    }
    snprintf(out, out_len, "DATABASE_URL=%s", url);
    return 0;
}

bool tk_remote(void)
{
    const char *url = getenv("TK_REMOTE_URL");
    return url && *url;
}

void tk_need_local(const char *why)
{
    if (tk_remote())
        cr_skip_test("not applicable to a deployed service: needs %s", why);
}

struct tk_server *tk_server_remote(const char *url)
{
    struct tk_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    int n = snprintf(s->url, sizeof s->url, "%s", url);
    if (n <= 0 || (size_t)n >= sizeof s->url) {
        fprintf(stderr, "testkit: TK_REMOTE_URL is too long: %s\n", url);
        free(s);
        return NULL;
    }
    leftover_add(LEFTOVER_SERVER, s);
    return s;
}

/* Starts the binary; returns NULL with a message on stderr when it does not come up. */
static struct tk_server *server_spawn(const char *const *extra_env)
{
    const char *bin = getenv("TASKD_BIN");
    if (!bin) {
        fprintf(stderr, "testkit: TASKD_BIN is not set (which stage binary to test?)\n");
        return NULL;
    }
    struct tk_server *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    snprintf(s->dir, sizeof s->dir, "/tmp/taskd-test-XXXXXX");
    if (!mkdtemp(s->dir)) {
        fprintf(stderr, "testkit: mkdtemp: %s\n", strerror(errno));
        free(s);
        return NULL;
    }
    snprintf(s->log, sizeof s->log, "%s/server.log", s->dir);

    /* A fresh store per server: a SQLite file in its directory, or, when the stage's store is a
     * service (PostgreSQL from week 2), a new database made by TK_FRESH_DB_CMD. */
    const char *given = NULL; /* a test may name the database itself (a restored backup) */
    for (size_t i = 0; extra_env && extra_env[i]; i++)
        if (strncmp(extra_env[i], "DATABASE_URL=", 13) == 0)
            given = extra_env[i];
    if (given) {
        snprintf(s->db, sizeof s->db, "%s", given);
    } else if (fresh_database(s->db, sizeof s->db) != 0) {
        snprintf(s->db, sizeof s->db, "DATABASE_URL=sqlite:%s/taskd.db", s->dir);
    } else if (!s->db[0]) {
        nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(s);
        return NULL;
    } else {
        s->own_db = true;
    }
    char *db = s->db;
    /* Precedence, highest first: the test's extra settings, the kit's own, TASKD_ENV, then the
     * inherited environment. getenv returns the first match, so that is also the order here. */
    char *env[ENV_MAX];
    size_t n = 0;
    for (size_t i = 0; extra_env && extra_env[i] && n < ENV_MAX / 2; i++)
        if (extra_env[i] != given)
            env[n++] = (char *)extra_env[i];
    env[n++] = "PORT=0";
    env[n++] = "BIND_ADDRESS=127.0.0.1";
    env[n++] = db;
    char *list = getenv("TASKD_ENV") ? strdup(getenv("TASKD_ENV")) : NULL;
    if (list)
        n = add_env_list(env, n, list);
    for (char **e = environ; *e && n < ENV_MAX - 1; e++)
        if (strncmp(*e, "PORT=", 5) != 0 && strncmp(*e, "DATABASE_URL=", 13) != 0)
            env[n++] = *e;
    env[n] = NULL;

    pid_t pid = fork_tied();
    if (pid == 0) {
        int fd = open(s->log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execve(bin, (char *const[]){(char *)bin, NULL}, env);
        fprintf(stderr, "testkit: cannot run %s: %s\n", bin, strerror(errno));
        _exit(127);
    }
    free(list);
    if (pid < 0) {
        fprintf(stderr, "testkit: fork: %s\n", strerror(errno));
        free(s);
        return NULL;
    }
    s->pid = pid;

    long deadline = tk_now_ms() + START_TIMEOUT_MS;
    int port = 0;
    while (!port && tk_now_ms() < deadline) {
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            fprintf(stderr, "testkit: %s exited while starting (status %d)\n", bin, status);
            print_log_tail(s->log);
            s->pid = 0;
            free(s);
            return NULL;
        }
        char *log = tk_read_file(s->log, NULL);
        port = log ? port_from_log(log) : 0;
        free(log);
        if (!port)
            tk_sleep_ms(10);
    }
    if (!port) {
        fprintf(stderr, "testkit: %s did not log \"listening\" within %d ms\n", bin,
                START_TIMEOUT_MS);
        print_log_tail(s->log);
        tk_server_stop(s);
        return NULL;
    }
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d", port);
    leftover_add(LEFTOVER_SERVER, s);
    return s;
}

/* The header of the last server this process logged in to (or the shared one). */
static char last_auth[2048];

/* With TK_AUTH=1 (stages with users, week 4 on) every server the kit starts gets a user, and
 * every request the kit sends carries that user's access token: the suites of earlier weeks run
 * unchanged, as a logged-in user. The user is the same for every server one test process starts
 * (register, or find it taken, then log in), so a second server on a copy of the first one's
 * database (a restored backup) sees the same tasks. Returns 0, or -1 with a message. */
int tk_server_login(struct tk_server *s)
{
    s->auth[0] = '\0';
    if (!getenv("TK_AUTH") || strcmp(getenv("TK_AUTH"), "1") != 0)
        return 0;
    char body[160];
    snprintf(body, sizeof body,
             "{\"email\":\"tk-%ld@example.com\",\"password\":\"tk-password-%ld\"}", (long)getpid(),
             (long)getpid());
    struct tk_response *r = tk_post_json(s, "/auth/register", body);
    bool registered = r->status == 201 || r->status == 409;
    long status = r->status;
    tk_response_free(r);
    if (!registered) {
        fprintf(stderr, "testkit: TK_AUTH: POST /auth/register answered %ld\n", status);
        return -1;
    }
    r = tk_post_json(s, "/auth/login", body);
    const cJSON *tok = r->json ? cJSON_GetObjectItemCaseSensitive(r->json, "access_token") : NULL;
    int rc = -1;
    if (r->status == 200 && cJSON_IsString(tok) && strlen(tok->valuestring) + 40 < sizeof s->auth) {
        snprintf(s->auth, sizeof s->auth, "Authorization: Bearer %s", tok->valuestring);
        snprintf(last_auth, sizeof last_auth, "%s", s->auth);
        rc = 0;
    } else {
        fprintf(stderr, "testkit: TK_AUTH: POST /auth/login answered %ld: %.200s\n", r->status,
                r->body ? r->body : "");
    }
    tk_response_free(r);
    return rc;
}

const char *tk_server_auth_header(const struct tk_server *s)
{
    return s && s->auth[0] ? s->auth : NULL;
}

/* A test process that has not logged in itself takes the shared server's header from the
 * environment, once: racing threads call tk_curl_auth together, and a copy made by each of them
 * would let one read the buffer while another rewrites it (glibc's snprintf clears the first byte
 * before writing), sending no or half a header: a 401 that is the kit's fault. */
static pthread_once_t auth_from_env_once = PTHREAD_ONCE_INIT;

static void auth_from_env(void)
{
    if (!last_auth[0] && getenv("TK_SHARED_AUTH"))
        snprintf(last_auth, sizeof last_auth, "%s", getenv("TK_SHARED_AUTH"));
}

struct curl_slist *tk_curl_auth(struct curl_slist *list)
{
    pthread_once(&auth_from_env_once, auth_from_env);
    return last_auth[0] ? curl_slist_append(list, last_auth) : list;
}

struct tk_server *tk_server_start(const char *const *extra_env)
{
    tk_need_local("a taskd process of its own");
    struct tk_server *s = server_spawn(extra_env);
    cr_assert(s, "could not start a private server of %s (see the log above)",
              getenv("TASKD_BIN") ? getenv("TASKD_BIN") : "(TASKD_BIN unset)");
    struct tk_response *r = tk_get(s, "/health");
    cr_assert(r->status == 200, "GET /health on a new server: expected 200, got %ld", r->status);
    tk_response_free(r);
    cr_assert(tk_server_login(s) == 0, "TK_AUTH: could not log in on a new server (see above)");
    return s;
}

/* Drops a database fresh_database made, with TK_DROP_DB_CMD NAME (a test database is several
 * megabytes; a full run makes hundreds). Only the name is passed: the URL holds a password. */
static void drop_database(const char *db_setting)
{
    const char *cmd = getenv("TK_DROP_DB_CMD");
    const char *slash = strrchr(db_setting, '/');
    if (!cmd || !*cmd || !slash)
        return;
    char name[128];
    snprintf(name, sizeof name, "%.*s", (int)strcspn(slash + 1, "?"), slash + 1);
    char script[512];
    snprintf(script, sizeof script, "%s \"$1\" >/dev/null 2>&1", cmd);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", script, "sh", name, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        waitpid(pid, NULL, 0);
}

/* Stops the proxy in front of s, if any (it never decides the server's exit status). */
static void proxy_stop(struct tk_server *s)
{
    if (s->proxy_pid <= 0)
        return;
    kill(s->proxy_pid, SIGTERM);
    long deadline = tk_now_ms() + STOP_TIMEOUT_MS;
    pid_t got = 0;
    while ((got = waitpid(s->proxy_pid, NULL, WNOHANG)) == 0 && tk_now_ms() < deadline)
        tk_sleep_ms(10);
    if (got == 0) {
        kill(s->proxy_pid, SIGKILL);
        waitpid(s->proxy_pid, NULL, 0);
    }
    s->proxy_pid = 0;
}

int tk_server_stop(struct tk_server *s)
{
    if (!s)
        return 0;
    leftover_remove(s);
    proxy_stop(s);
    int status = 0;
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        long deadline = tk_now_ms() + STOP_TIMEOUT_MS;
        pid_t got = 0;
        while ((got = waitpid(s->pid, &status, WNOHANG)) == 0 && tk_now_ms() < deadline)
            tk_sleep_ms(10);
        if (got == 0) {
            fprintf(stderr, "testkit: server did not stop within %d ms of SIGTERM; killing it\n",
                    STOP_TIMEOUT_MS);
            kill(s->pid, SIGKILL);
            waitpid(s->pid, &status, 0);
            status = -1;
        }
    }
    if (s->dir[0]) {
        if (status != 0)
            fprintf(stderr, "testkit: server files kept for inspection in %s\n", s->dir);
        else
            nftw(s->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    }
    if (s->own_db && status == 0)
        drop_database(s->db);
    free(s);
    return status;
}

pid_t tk_server_pid(const struct tk_server *s)
{
    return s->pid;
}

const char *tk_server_url(const struct tk_server *s)
{
    return s->url;
}

const char *tk_server_log_path(const struct tk_server *s)
{
    return s->log;
}

const char *tk_server_database_url(const struct tk_server *s)
{
    return strncmp(s->db, "DATABASE_URL=", 13) == 0 ? s->db + 13 : "";
}

/* Does one of the extra "NAME=value" settings name the same variable as entry? An extra setting
 * replaces an inherited one of the same name (the child's getenv would find whichever comes
 * first). */
static bool env_overridden(const char *entry, const char *const *extra_env)
{
    size_t name_len = strcspn(entry, "=");
    for (size_t i = 0; extra_env && extra_env[i]; i++)
        if (strncmp(extra_env[i], entry, name_len) == 0 && extra_env[i][name_len] == '=')
            return true;
    return false;
}

static int run_argv(const char *const *argv, const char *const *extra_env, char *output,
                    size_t output_len);

int tk_run(const char *const *argv, const char *const *extra_env, char *output, size_t output_len)
{
    tk_need_local("a program run on this machine");
    return run_argv(argv, extra_env, output, output_len);
}

static int run_argv(const char *const *argv, const char *const *extra_env, char *output,
                    size_t output_len)
{
    /* Precedence, highest first (getenv takes the first match): the extra settings, the stage's
     * TASKD_ENV (so `taskd migrate` run by a test sees what the kit's servers see), the rest. */
    char *env[ENV_MAX];
    size_t n = 0;
    for (size_t i = 0; extra_env && extra_env[i] && n < ENV_MAX / 2; i++)
        env[n++] = (char *)extra_env[i];
    char *list = getenv("TASKD_ENV") ? strdup(getenv("TASKD_ENV")) : NULL;
    if (list)
        n = add_env_list(env, n, list);
    for (char **e = environ; *e && n < ENV_MAX - 1; e++)
        if (!env_overridden(*e, extra_env))
            env[n++] = *e;
    env[n] = NULL;
    int pipefd[2];
    cr_assert(pipe(pipefd) == 0, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        dup2(pipefd[1], STDOUT_FILENO);
        dup2(pipefd[1], STDERR_FILENO);
        close(pipefd[0]);
        close(pipefd[1]);
        execve(argv[0], (char *const *)argv, env);
        fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    close(pipefd[1]);
    size_t got = 0;
    char chunk[4096];
    ssize_t r;
    while ((r = read(pipefd[0], chunk, sizeof chunk)) > 0) {
        size_t k = (size_t)r;
        if (output && got + 1 < output_len) {
            size_t room = output_len - 1 - got;
            memcpy(output + got, chunk, k < room ? k : room);
            got += k < room ? k : room;
        }
    }
    close(pipefd[0]);
    if (output && output_len)
        output[got] = '\0';
    int status = 0;
    waitpid(pid, &status, 0);
    free(list);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int tk_vsh(char *out, size_t cap, const char *fmt, va_list ap)
{
    char script[8192], scratch[256];
    int n = vsnprintf(script, sizeof script, fmt, ap);
    cr_assert(n > 0 && (size_t)n < sizeof script, "a command of the suite is too long");
    if (!out) {
        out = scratch;
        cap = sizeof scratch;
    }
    /* An operator's command (podman, docker-compose, curl), not a stage's binary: it runs
     * against a deployed service too. */
    const char *argv[] = {"/bin/sh", "-c", script, NULL};
    return run_argv(argv, NULL, out, cap);
}

int tk_sh(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = tk_vsh(out, cap, fmt, ap);
    va_end(ap);
    return rc;
}

/* ------------------------------------------------------------------ other processes */

struct tk_proc {
    pid_t pid;
    bool ended; /* reaped: status is final */
    int status; /* exit status, 128 + signal, or -1 when reaped elsewhere */
    char name[64];
    char dir[64];
    char log[160];
};

/* The test's environment with the extra settings in place of inherited ones: a malloc'd,
 * NULL-terminated array of borrowed strings, sized to fit (no setting is ever dropped). */
static char **env_merged(const char *const *extra_env)
{
    size_t n_env = 0, n_extra = 0;
    while (environ[n_env])
        n_env++;
    while (extra_env && extra_env[n_extra])
        n_extra++;
    char **env = calloc(n_env + n_extra + 1, sizeof *env);
    if (!env)
        return NULL;
    size_t n = 0;
    for (char **e = environ; *e; e++)
        if (!env_overridden(*e, extra_env))
            env[n++] = *e;
    for (size_t i = 0; i < n_extra; i++)
        env[n++] = (char *)extra_env[i];
    env[n] = NULL;
    return env;
}

struct tk_proc *tk_proc_start(const char *const *argv, const char *const *extra_env)
{
    tk_need_local("a process started on this machine");
    cr_assert(argv && argv[0], "test bug: tk_proc_start needs argv[0]");
    struct tk_proc *p = calloc(1, sizeof *p);
    cr_assert(p, "out of memory");
    const char *slash = strrchr(argv[0], '/');
    snprintf(p->name, sizeof p->name, "%s", slash ? slash + 1 : argv[0]);
    snprintf(p->dir, sizeof p->dir, "/tmp/taskd-proc-XXXXXX");
    cr_assert(mkdtemp(p->dir), "mkdtemp: %s", strerror(errno));
    snprintf(p->log, sizeof p->log, "%s/%s.log", p->dir, p->name);
    /* Opened here rather than in the child, so a failure is an assertion with its reason; the
     * child gets it as stdout and stderr (dup2 clears O_CLOEXEC on the copies). */
    int fd = open(p->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    cr_assert(fd >= 0, "cannot create %s: %s", p->log, strerror(errno));
    char **env = env_merged(extra_env);
    cr_assert(env, "out of memory");
    /* Only async-signal-safe calls between fork and exec: the message is composed before. */
    char failed[256];
    int failed_len = snprintf(failed, sizeof failed, "testkit: cannot run %s\n", argv[0]);
    if (failed_len < 0 || (size_t)failed_len >= sizeof failed)
        failed_len = (int)strlen(failed);

    pid_t pid = fork_tied();
    if (pid == 0) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        execve(argv[0], (char *const *)argv, env);
        ssize_t w = write(STDERR_FILENO, failed, (size_t)failed_len);
        (void)w;
        _exit(127);
    }
    int fork_errno = errno;
    close(fd);
    free(env);
    if (pid < 0) {
        nftw(p->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        free(p);
        p = NULL;
    }
    cr_assert(p, "fork: %s", strerror(fork_errno));
    p->pid = pid;
    leftover_add(LEFTOVER_PROC, p);
    return p;
}

const char *tk_bin_beside(const char *name, const char *override_var)
{
    static char path[1024];
    const char *given = getenv(override_var);
    if (given && *given) {
        snprintf(path, sizeof path, "%s", given);
    } else {
        const char *bin = getenv("TASKD_BIN");
        tk_need_local("the stage's binaries");
        cr_assert(bin && *bin, "TASKD_BIN is not set: run these tests through make test-week-N");
        const char *slash = strrchr(bin, '/');
        snprintf(path, sizeof path, "%.*s/%s", slash ? (int)(slash - bin) : 1, slash ? bin : ".",
                 name);
    }
    cr_assert(access(path, X_OK) == 0, "cannot run %s: %s (build it beside TASKD_BIN, or set %s)",
              path, strerror(errno), override_var);
    return path;
}

struct tk_proc *tk_proc_start_beside(const struct tk_server *s, const char *const *argv,
                                     const char *const *extra_env)
{
    /* Precedence, highest first (getenv takes the first match): extra, s's database, TASKD_ENV. */
    const char *env[ENV_MAX];
    size_t n = 0;
    for (size_t i = 0; extra_env && extra_env[i] && n < ENV_MAX / 2; i++)
        env[n++] = extra_env[i];
    char db[1100];
    snprintf(db, sizeof db, "DATABASE_URL=%s", tk_server_database_url(s));
    env[n++] = db;
    char *list = getenv("TASKD_ENV") ? strdup(getenv("TASKD_ENV")) : NULL;
    if (list)
        n = add_env_list((char **)env, n, list);
    env[n] = NULL;
    struct tk_proc *p = tk_proc_start(argv, env);
    free(list);
    return p;
}

/* Reaps p if it has ended (waiting for it when block); true once it has. */
static bool proc_reap(struct tk_proc *p, bool block)
{
    if (p->ended)
        return true;
    int st = 0;
    pid_t got;
    do
        got = waitpid(p->pid, &st, block ? 0 : WNOHANG);
    while (got < 0 && errno == EINTR);
    if (got == 0)
        return false;
    p->ended = true;
    if (got < 0)
        p->status = -1; /* not our child any more: someone else reaped it */
    else
        p->status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    return true;
}

bool tk_proc_running(struct tk_proc *p)
{
    return p && !proc_reap(p, false);
}

int tk_proc_stop(struct tk_proc *p, int sig, int timeout_ms)
{
    if (!p)
        return 0;
    leftover_remove(p);
    bool killed = false;
    if (!proc_reap(p, false)) {
        if (sig > 0)
            kill(p->pid, sig);
        long deadline = tk_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
        while (!proc_reap(p, false) && tk_now_ms() < deadline)
            tk_sleep_ms(10);
        if (!p->ended) {
            fprintf(stderr, "testkit: %s (pid %ld) did not end within %d ms; killing it\n", p->name,
                    (long)p->pid, timeout_ms);
            kill(p->pid, SIGKILL);
            proc_reap(p, true);
            killed = true;
        }
    }
    int status = p->status;
    if (!killed && (status == 0 || (sig > 0 && status == 128 + sig))) {
        nftw(p->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    } else {
        fprintf(stderr, "testkit: %s ended with status %d; its log is kept in %s\n", p->name,
                status, p->log);
    }
    free(p);
    return status;
}

const char *tk_proc_log_path(const struct tk_proc *p)
{
    return p->log;
}

char *tk_proc_log(const struct tk_proc *p)
{
    char *log = tk_read_file(p->log, NULL);
    cr_assert(log, "cannot read %s: %s", p->log, strerror(errno));
    return log;
}

void tk_proc_wait_log(struct tk_proc *p, const char *needle, long timeout_ms)
{
    long deadline = tk_now_ms() + timeout_ms;
    for (;;) {
        char *log = tk_proc_log(p);
        if (strstr(log, needle)) {
            free(log);
            return;
        }
        bool running = tk_proc_running(p);
        if (!running || tk_now_ms() >= deadline) {
            size_t len = strlen(log);
            cr_assert_fail("%s did not log %s within %ld ms (%s); its log:\n%s", p->name, needle,
                           timeout_ms, running ? "still running" : "it exited",
                           len > 1500 ? log + len - 1500 : log);
        }
        free(log);
        tk_sleep_ms(20);
    }
}

pid_t tk_proc_pid(const struct tk_proc *p)
{
    return p->pid;
}

/* The shared server: started by tk_main in the runner, found through the environment by each
 * forked test. */
struct tk_server *tk_shared(void)
{
    static struct tk_server shared;
    const char *url = getenv("TK_SHARED_URL");
    cr_assert(url, "this suite has no shared server (is TASKD_BIN set?)");
    snprintf(shared.url, sizeof shared.url, "%s", url);
    snprintf(shared.log, sizeof shared.log, "%s",
             getenv("TK_SHARED_LOG") ? getenv("TK_SHARED_LOG") : "");
    snprintf(shared.db, sizeof shared.db, "%s",
             getenv("TK_SHARED_DB") ? getenv("TK_SHARED_DB") : "");
    snprintf(shared.auth, sizeof shared.auth, "%s",
             getenv("TK_SHARED_AUTH") ? getenv("TK_SHARED_AUTH") : "");
    snprintf(shared.proxy_url, sizeof shared.proxy_url, "%s",
             getenv("TK_SHARED_PROXY") ? getenv("TK_SHARED_PROXY") : "");
    return &shared;
}

/* TK_PROXY: a command that puts a validating proxy in front of a server (make
 * test-openapi-proxy sets it to shared/scripts/openapi-proxy.sh). The kit runs `TK_PROXY URL`
 * with the server's URL; the command prints "proxy-url http://HOST:PORT" once the proxy answers,
 * and runs until SIGTERM. Its output goes to proxy.log in the server's directory. 0 or -1 (a
 * message said why). */
static int proxy_start(struct tk_server *s, const char *cmd)
{
    char log_path[160];
    snprintf(log_path, sizeof log_path, "%s/proxy.log", s->dir);
    char script[512];
    snprintf(script, sizeof script, "exec %s \"$1\"", cmd);
    pid_t pid = fork_tied();
    if (pid == 0) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fd >= 0) {
            dup2(fd, STDOUT_FILENO);
            dup2(fd, STDERR_FILENO);
            close(fd);
        }
        execl("/bin/sh", "sh", "-c", script, "sh", s->url, (char *)NULL);
        _exit(127);
    }
    if (pid < 0) {
        fprintf(stderr, "testkit: fork: %s\n", strerror(errno));
        return -1;
    }
    s->proxy_pid = pid;
    long deadline = tk_now_ms() + PROXY_START_TIMEOUT_MS;
    while (tk_now_ms() < deadline) {
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            s->proxy_pid = 0;
            break;
        }
        char *log = tk_read_file(log_path, NULL);
        const char *line = log ? strstr(log, "proxy-url http://") : NULL;
        if (line) {
            line += strlen("proxy-url ");
            snprintf(s->proxy_url, sizeof s->proxy_url, "%.*s", (int)strcspn(line, "\r\n"), line);
            free(log);
            return 0;
        }
        free(log);
        tk_sleep_ms(50);
    }
    fprintf(stderr, "testkit: the proxy (TK_PROXY=%s) did not say \"proxy-url\" within %d ms\n",
            cmd, PROXY_START_TIMEOUT_MS);
    print_log_tail(log_path);
    return -1;
}

/* Used by tk_main (declared there). With TK_PROXY, the shared server gets the validating proxy
 * and the forked tests learn its URL from TK_SHARED_PROXY. Private servers are not proxied: a
 * proxy starts in seconds, and some tests start a server each. */
struct tk_server *tk_server_spawn_shared(void);
struct tk_server *tk_server_spawn_shared(void)
{
    struct tk_server *s = server_spawn(NULL);
    const char *cmd = getenv("TK_PROXY");
    if (!s || !cmd || !*cmd)
        return s;
    if (proxy_start(s, cmd) != 0 || setenv("TK_SHARED_PROXY", s->proxy_url, 1) != 0) {
        tk_server_stop(s);
        return NULL;
    }
    return s;
}

/* ------------------------------------------------------------------ requests */

static size_t on_data(char *p, size_t size, size_t n, void *ctx)
{
    return buf_append(ctx, p, size * n) == 0 ? size * n : 0;
}

static bool has_header(const char *const *headers, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; headers && headers[i]; i++)
        if (strncasecmp(headers[i], name, n) == 0 && headers[i][n] == ':')
            return true;
    return false;
}

static bool is_json_type(const char *headers)
{
    char ct[128];
    struct tk_response fake = {.headers = (char *)headers};
    if (!tk_header(&fake, "Content-Type", ct, sizeof ct))
        return false;
    return strncasecmp(ct, "application/json", 16) == 0 ||
           strncasecmp(ct, "application/problem+json", 24) == 0;
}

void tk_curl_tls(CURL *curl)
{
    const char *ca = getenv("TK_CA_FILE");
    if (ca && *ca)
        curl_easy_setopt(curl, CURLOPT_CAINFO, ca);
}

void tk_curl_collect(CURL *curl, const char *url, struct curl_slist *headers, struct buf *body,
                     struct buf *head)
{
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    tk_curl_tls(curl);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
    if (head) {
        curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_data);
        curl_easy_setopt(curl, CURLOPT_HEADERDATA, head);
    }
}

/* Through the validating proxy (TK_PROXY), the answer's sl-violations header (Prism's) lists
 * where the exchange breaks the OpenAPI document. A test sends invalid requests on purpose, so
 * request violations alone are expected; what fails is an answer the document does not describe,
 * or a success for a request the document calls invalid (the document is behind the service). */
/* True when the request sent a bearer token under a scheme spelled other than "Bearer" ("bearer
 * <token>"). RFC 7235 and OpenAPI call the scheme case-insensitive and so does the service, but
 * Prism 5 checks /^Bearer\s/ and reports such a request as unauthenticated: its security finding
 * is then Prism's error, not the document's. */
static bool bearer_in_other_case(const char *const *headers)
{
    for (size_t i = 0; headers && headers[i]; i++) {
        if (strncasecmp(headers[i], "Authorization:", 14) != 0)
            continue;
        const char *v = headers[i] + 14;
        v += strspn(v, " \t");
        return strncasecmp(v, "Bearer ", 7) == 0 && strncmp(v, "Bearer ", 7) != 0;
    }
    return false;
}

static void expect_described(const struct tk_response *r, const char *const *headers)
{
    char value[4096];
    if (!tk_header(r, "sl-violations", value, sizeof value))
        return;
    cJSON *list = cJSON_Parse(value);
    const cJSON *v = NULL;
    cJSON_ArrayForEach(v, list)
    {
        const cJSON *where = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(v, "location"), 0);
        const cJSON *severity = cJSON_GetObjectItemCaseSensitive(v, "severity");
        const cJSON *message = cJSON_GetObjectItemCaseSensitive(v, "message");
        bool error = cJSON_IsString(severity) && strcmp(severity->valuestring, "Error") == 0;
        bool response = cJSON_IsString(where) && strcmp(where->valuestring, "response") == 0;
        const cJSON *code = cJSON_GetObjectItemCaseSensitive(v, "code");
        if (!response && cJSON_IsNumber(code) && code->valueint == 401 &&
            bearer_in_other_case(headers))
            continue;
        if (error && (response || (r->status >= 200 && r->status < 300))) {
            char what[512];
            snprintf(what, sizeof what, "%s", cJSON_IsString(message) ? message->valuestring : "");
            cJSON_Delete(list);
            cr_assert_fail("%s: answered %ld, which the OpenAPI document does not describe: %s "
                           "(sl-violations: %.1500s)",
                           r->what, r->status, what, value);
        }
    }
    cJSON_Delete(list);
}

/* The size of s's log now: the lines a request makes are the ones past it. */
static long log_size(const struct tk_server *s)
{
    struct stat st;
    return s->log[0] && stat(s->log, &st) == 0 ? (long)st.st_size : -1;
}

/* True for an error line other than the access line ("msg":"request"), which only repeats the
 * status: the line before it says what went wrong. */
static bool is_cause_line(const char *line, size_t len)
{
    static const char error[] = "\"level\":\"error\"", access[] = "\"msg\":\"request\"";
    return memmem(line, len, error, sizeof error - 1) &&
           !memmem(line, len, access, sizeof access - 1);
}

/* After a 5xx: copies into r->server_error the last cause line s logged since offset from. A
 * learner whose row reader refuses every row then reads "the server logged: ... column status
 * ..." instead of a bare 500. The shared server serves parallel tests, so the line is the
 * server's last word, not proof of which request caused it; it is only ever a hint. */
static void note_server_error(const struct tk_server *s, long from, struct tk_response *r)
{
    if (r->status < 500 || from < 0)
        return;
    FILE *f = fopen(s->log, "r");
    if (!f)
        return;
    char chunk[65536];
    size_t n = 0;
    if (fseek(f, from, SEEK_SET) == 0)
        n = fread(chunk, 1, sizeof chunk, f);
    fclose(f);
    const char *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; i < n;) {
        const char *nl = memchr(chunk + i, '\n', n - i);
        size_t len = nl ? (size_t)(nl - (chunk + i)) : n - i;
        if (is_cause_line(chunk + i, len)) {
            best = chunk + i;
            best_len = len;
        }
        i += len + 1;
    }
    if (best)
        snprintf(r->server_error, sizeof r->server_error, "%.*s", (int)best_len, best);
}

struct tk_response *tk_request(struct tk_server *s, const char *method, const char *path,
                               const char *const *headers, const char *body, size_t body_len)
{
    long log_from = log_size(s);
    /* libcurl, still pushing a body the server refused from its headers, may meet the close
     * (a reset) before it reads the answer and report "Failed sending data to the peer". A raw
     * connection stops sending when the answer arrives and reads it. */
    if (body && body_len > TK_EARLY_ANSWER_BYTES && !has_header(headers, "Expect") &&
        !has_header(headers, "Transfer-Encoding")) {
        struct tk_response *raw = tk_raw_request(s, method, path, headers, body, body_len);
        note_server_error(s, log_from, raw);
        return raw;
    }
    static CURL *curl; /* one per test process: connections are kept alive between requests */
    if (!curl) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        curl = curl_easy_init();
    } else {
        curl_easy_reset(curl);
    }
    cr_assert(curl, "libcurl could not start");
    struct tk_response *r = calloc(1, sizeof *r);
    cr_assert(r, "out of memory");
    snprintf(r->what, sizeof r->what, "%s %.200s", method, path);

    char url[4096];
    snprintf(url, sizeof url, "%s%s", s->proxy_url[0] ? s->proxy_url : s->url, path);
    struct curl_slist *list = NULL;
    for (size_t i = 0; headers && headers[i]; i++)
        list = curl_slist_append(list, headers[i]);
    /* libcurl adds these on its own; a test that wants them says so explicitly. */
    if (!has_header(headers, "Expect"))
        list = curl_slist_append(list, "Expect:");
    if (s->auth[0] && !has_header(headers, "Authorization"))
        list = curl_slist_append(list, s->auth);
    if (body && !has_header(headers, "Content-Type"))
        list = curl_slist_append(list, "Content-Type:");

    struct buf data = BUF_INIT, head = BUF_INIT;
    tk_curl_collect(curl, url, list, &data, &head);
    curl_easy_setopt(curl, CURLOPT_PATH_AS_IS, 1L);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode cc = curl_easy_perform(curl);
    curl_slist_free_all(list);
    cr_assert(cc == CURLE_OK, "%s: no HTTP answer: %s", r->what, curl_easy_strerror(cc));
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->status);
    if (!data.data)
        buf_append(&data, "", 0);
    if (!head.data)
        buf_append(&head, "", 0);
    r->body = buf_steal(&data, &r->body_len);
    r->headers = buf_steal(&head, NULL);
    if (is_json_type(r->headers))
        r->json = cJSON_ParseWithLength(r->body, r->body_len);
    if (s->proxy_url[0])
        expect_described(r, headers);
    note_server_error(s, log_from, r);
    return r;
}

struct tk_response *tk_get(struct tk_server *s, const char *path)
{
    return tk_request(s, "GET", path, NULL, NULL, 0);
}

struct tk_response *tk_delete(struct tk_server *s, const char *path)
{
    return tk_request(s, "DELETE", path, NULL, NULL, 0);
}

static const char *const json_headers[] = {"Content-Type: application/json", NULL};

struct tk_response *tk_post_json(struct tk_server *s, const char *path, const char *json)
{
    return tk_request(s, "POST", path, json_headers, json, strlen(json));
}

struct tk_response *tk_patch_json(struct tk_server *s, const char *path, const char *json)
{
    return tk_request(s, "PATCH", path, json_headers, json, strlen(json));
}

void tk_expect_json_text(cJSON *o, const char *want)
{
    cr_assert_not_null(o, "expected a JSON value, got NULL");
    char *text = cJSON_PrintUnformatted(o);
    cr_assert_not_null(text, "out of memory printing JSON");
    cr_assert_str_eq(text, want, "expected\n%s\ngot\n%s", want, text);
    free(text);
    cJSON_Delete(o);
}

void tk_response_free(struct tk_response *r)
{
    if (!r)
        return;
    cJSON_Delete(r->json);
    free(r->body);
    free(r->headers);
    free(r);
}

const char *tk_header(const struct tk_response *r, const char *name, char *buf, size_t buf_len)
{
    size_t n = strlen(name);
    const char *value = NULL;
    /* The header block may hold several responses (a 100 Continue first): keep the last match
     * of the last response, which is the one the test is about. */
    for (const char *line = r->headers; line && *line;) {
        const char *eol = strstr(line, "\r\n");
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len >= 5 && strncmp(line, "HTTP/", 5) == 0)
            value = NULL;
        else if (len > n && strncasecmp(line, name, n) == 0 && line[n] == ':')
            value = line + n + 1;
        if (value == line + n + 1) {
            while (*value == ' ')
                value++;
            size_t vlen = len - (size_t)(value - line);
            if (vlen >= buf_len)
                vlen = buf_len - 1;
            memcpy(buf, value, vlen);
            buf[vlen] = '\0';
        }
        line = eol ? eol + 2 : line + len;
    }
    return value ? buf : NULL;
}

/* ------------------------------------------------------------------ assertions */

#define BODY_SHOWN 300

void tk_expect_status(const struct tk_response *r, long status)
{
    cr_assert(r->status == status, "%s: expected status %ld, got %ld; body: %.*s%s%s", r->what,
              status, r->status, BODY_SHOWN, r->body,
              r->server_error[0] ? "\n    the server logged: " : "", r->server_error);
}

void tk_expect_problem(const struct tk_response *r, long status)
{
    tk_expect_status(r, status);
    char ct[128];
    const char *got = tk_header(r, "Content-Type", ct, sizeof ct);
    cr_assert(got && strncmp(got, "application/problem+json", 24) == 0,
              "%s: expected Content-Type application/problem+json, got %s", r->what,
              got ? got : "none");
    cr_assert(r->json && cJSON_IsObject(r->json), "%s: the problem body is not a JSON object: %.*s",
              r->what, BODY_SHOWN, r->body);
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(r->json, "type");
    const cJSON *title = cJSON_GetObjectItemCaseSensitive(r->json, "title");
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(r->json, "status");
    cr_assert(cJSON_IsString(type) && cJSON_IsString(title),
              "%s: a problem needs string \"type\" and \"title\": %.*s", r->what, BODY_SHOWN,
              r->body);
    cr_assert(cJSON_IsNumber(st) && st->valuedouble == (double)status,
              "%s: the problem's \"status\" should be %ld: %.*s", r->what, status, BODY_SHOWN,
              r->body);
    char rid[80];
    cr_assert(tk_header(r, "X-Request-Id", rid, sizeof rid), "%s: no X-Request-Id header", r->what);
}

static const cJSON *problem_errors(const struct tk_response *r)
{
    const cJSON *errors = r->json ? cJSON_GetObjectItemCaseSensitive(r->json, "errors") : NULL;
    cr_assert(cJSON_IsArray(errors), "%s: expected an \"errors\" array in: %.*s", r->what,
              BODY_SHOWN, r->body);
    return errors;
}

static bool names_field(const cJSON *errors, const char *field)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, errors)
    {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(e, "field");
        if (cJSON_IsString(f) && strcmp(f->valuestring, field) == 0)
            return true;
    }
    return false;
}

void tk_expect_field_error(const struct tk_response *r, const char *field)
{
    const cJSON *errors = problem_errors(r);
    cr_assert(names_field(errors, field), "%s: expected an error on field \"%s\", got: %.*s",
              r->what, field, BODY_SHOWN, r->body);
}

void tk_expect_field_errors_exactly(const struct tk_response *r, const char *const *fields)
{
    const cJSON *errors = problem_errors(r);
    size_t n = 0;
    for (; fields[n]; n++)
        cr_assert(names_field(errors, fields[n]),
                  "%s: expected an error on field \"%s\", got: %.*s", r->what, fields[n],
                  BODY_SHOWN, r->body);
    cr_assert((size_t)cJSON_GetArraySize(errors) == n,
              "%s: expected errors on exactly %zu fields, got %d: %.*s", r->what, n,
              cJSON_GetArraySize(errors), BODY_SHOWN, r->body);
}

void tk_expect_header(const struct tk_response *r, const char *name, const char *value)
{
    char buf[512];
    const char *got = tk_header(r, name, buf, sizeof buf);
    cr_assert(got && strcmp(got, value) == 0, "%s: expected header %s: %s, got %s", r->what, name,
              value, got ? got : "(absent)");
}

void tk_expect_no_header(const struct tk_response *r, const char *name)
{
    char buf[512];
    const char *got = tk_header(r, name, buf, sizeof buf);
    cr_assert(!got, "%s: expected no %s header, got %s", r->what, name, got);
}

static const cJSON *field_of(const struct tk_response *r, const char *field)
{
    cr_assert(r->json && cJSON_IsObject(r->json), "%s: expected a JSON object body, got: %.*s",
              r->what, BODY_SHOWN, r->body);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r->json, field);
    cr_assert(v, "%s: the body has no \"%s\": %.*s", r->what, field, BODY_SHOWN, r->body);
    return v;
}

void tk_expect_json_str(const struct tk_response *r, const char *field, const char *value)
{
    const cJSON *v = field_of(r, field);
    cr_assert(cJSON_IsString(v) && strcmp(v->valuestring, value) == 0,
              "%s: expected \"%s\": \"%s\", got: %.*s", r->what, field, value, BODY_SHOWN, r->body);
}

void tk_expect_json_int(const struct tk_response *r, const char *field, long long value)
{
    const cJSON *v = field_of(r, field);
    cr_assert(cJSON_IsNumber(v) && v->valuedouble == (double)value,
              "%s: expected \"%s\": %lld, got: %.*s", r->what, field, value, BODY_SHOWN, r->body);
}

void tk_expect_json_null(const struct tk_response *r, const char *field)
{
    const cJSON *v = field_of(r, field);
    cr_assert(cJSON_IsNull(v), "%s: expected \"%s\": null, got: %.*s", r->what, field, BODY_SHOWN,
              r->body);
}

const char *tk_json_str(const struct tk_response *r, const char *field)
{
    const cJSON *v = field_of(r, field);
    cr_assert(cJSON_IsString(v), "%s: \"%s\" is not a string: %.*s", r->what, field, BODY_SHOWN,
              r->body);
    return v->valuestring;
}

long long tk_json_int(const struct tk_response *r, const char *field)
{
    const cJSON *v = field_of(r, field);
    cr_assert(cJSON_IsNumber(v), "%s: \"%s\" is not a number: %.*s", r->what, field, BODY_SHOWN,
              r->body);
    return (long long)v->valuedouble;
}

long long tk_create_task(struct tk_server *s, const char *json)
{
    struct tk_response *r = tk_post_json(s, "/tasks", json);
    tk_expect_status(r, 201);
    long long id = tk_json_int(r, "id");
    tk_response_free(r);
    return id;
}
