/* api_secrets.c — black-box tests of how stage 4 treats its secrets (API.md "Tokens (week 4)":
 * JWT_SECRET of at least 32 bytes, from the environment or JWT_SECRET_FILE, "the service refuses
 * to start without one"; "Logs and metrics": never a password, token or secret in the log).
 *
 * The start-up tests run the binary itself (TASKD_BIN, under `timeout 10`, so a service that
 * starts when it should have refused is killed and reported instead of hanging the suite) with a
 * fresh database and exactly the secret settings under test; the test process's own JWT_SECRET,
 * JWT_SECRET_FILE and TASKD_ENV are removed first, so nothing leaks in from outside. The log test
 * drives a private server through a whole session — register, login, refresh, a reuse, requests
 * with good and bad tokens, a wrong password — at LOG_LEVEL=debug, then reads every line it wrote
 * looking for the distinctive values the test used. */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api_pg_helpers.h"
#include "api_w4_helpers.h"
#include "testkit.h"

#define START_MS      10000
#define REFUSED_SHOWN 600

static char db_url[512]; /* the fresh database of a start-up test, "" when none */

static void secrets_fini(void)
{
    if (db_url[0])
        w4_drop_db(db_url);
    db_url[0] = '\0';
}

/* The settings under test are the only ones about the secret: the test process's own, and the
 * kit's TASKD_ENV (which tk_run and the kit's servers pass on, with its JWT_SECRET_FILE) are
 * removed first. Criterion runs each test in a process of its own, so nothing leaks. */
static void no_inherited_secret(void)
{
    unsetenv("JWT_SECRET");
    unsetenv("JWT_SECRET_FILE");
    unsetenv("TASKD_ENV");
}

static const char *taskd_bin(void)
{
    tk_need_local("the stage's binary, run with arguments of its own");
    const char *bin = getenv("TASKD_BIN");
    cr_assert(bin && *bin, "TASKD_BIN is not set: run these tests through make test-week-4");
    return bin;
}

/* Runs the binary with a fresh database and these secret settings (NULL-terminated), expecting
 * it to refuse to start: a non-zero exit, before `timeout` had to kill it, with a message naming
 * JWT_SECRET and not repeating the value (secret_value, may be NULL). */
static void expect_refusal(const char *const *secret_settings, const char *secret_value,
                           const char *what)
{
    no_inherited_secret();
    w4_fresh_db(db_url, sizeof db_url);
    char db[600];
    snprintf(db, sizeof db, "DATABASE_URL=%s", db_url);
    const char *env[16] = {db, "AUTO_MIGRATE=1", "PORT=0", "BIND_ADDRESS=127.0.0.1"};
    size_t n = 4;
    for (size_t i = 0; secret_settings && secret_settings[i] && n < 15; i++)
        env[n++] = secret_settings[i];
    env[n] = NULL;
    char out[16384];
    int rc = tk_run((const char *const[]){"/usr/bin/timeout", "10", taskd_bin(), NULL}, env, out,
                    sizeof out);
    cr_assert(rc != 124,
              "taskd with %s: expected it to refuse to start, but it was still running "
              "10 s later; its output:\n%.*s",
              what, REFUSED_SHOWN, out);
    cr_assert(rc != 0, "taskd with %s: expected a non-zero exit, got 0; its output:\n%.*s", what,
              REFUSED_SHOWN, out);
    cr_assert(strstr(out, "JWT_SECRET"),
              "taskd with %s: exited %d, but its message does not name JWT_SECRET:\n%.*s", what, rc,
              REFUSED_SHOWN, out);
    if (secret_value)
        cr_assert(!strstr(out, secret_value),
                  "taskd with %s: its message repeats the secret's value:\n%.*s", what,
                  REFUSED_SHOWN, out);
}

GRADED(secrets, refuses_to_start_without_jwt_secret, 2, .fini = secrets_fini)
{
    expect_refusal(NULL, NULL, "neither JWT_SECRET nor JWT_SECRET_FILE");
}

GRADED(secrets, refuses_to_start_with_a_weak_jwt_secret, 2, .fini = secrets_fini)
{
    expect_refusal((const char *const[]){"JWT_SECRET=changeme", NULL}, "changeme",
                   "JWT_SECRET=changeme");
    secrets_fini();
    char forty_a[64];
    snprintf(forty_a, sizeof forty_a, "JWT_SECRET=%s", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    expect_refusal((const char *const[]){forty_a, NULL}, forty_a + strlen("JWT_SECRET="),
                   "JWT_SECRET of 40 times \"a\"");
    secrets_fini();
    /* 31 bytes, every one different: random-looking, but shorter than the 32 API.md asks for. */
    expect_refusal((const char *const[]){"JWT_SECRET=Qm7#vR2!xK9pL4$wZ8nT1&yB6cF3^hD", NULL}, NULL,
                   "a 31-byte JWT_SECRET");
}

GRADED(secrets, starts_with_a_strong_jwt_secret_file, 1, .fini = secrets_fini)
{
    no_inherited_secret();
    char dir[] = "/tmp/taskd-secret-XXXXXX";
    cr_assert(mkdtemp(dir), "mkdtemp failed");
    char path[64];
    snprintf(path, sizeof path, "%s/jwt-secret", dir);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "umask 077 && head -c 48 /dev/urandom | base64 -w0 > %s", path);
    char out[4096];
    cr_assert(tk_run((const char *const[]){"/bin/sh", "-c", cmd, NULL}, NULL, out, sizeof out) == 0,
              "could not write a secret file: %s", out);

    w4_fresh_db(db_url, sizeof db_url);
    char db[600], file[128];
    snprintf(db, sizeof db, "DATABASE_URL=%s", db_url);
    snprintf(file, sizeof file, "JWT_SECRET_FILE=%s", path);
    struct tk_proc *p = tk_proc_start((const char *const[]){taskd_bin(), NULL},
                                      (const char *const[]){db, "AUTO_MIGRATE=1", "PORT=0",
                                                            "BIND_ADDRESS=127.0.0.1", file, NULL});
    long deadline = tk_now_ms() + START_MS;
    bool listening = false;
    while (!listening && tk_proc_running(p) && tk_now_ms() < deadline) {
        char *log = tk_proc_log(p);
        listening = strstr(log, "\"msg\":\"listening\"") != NULL;
        free(log);
        if (!listening)
            tk_sleep_ms(20);
    }
    char *log = tk_proc_log(p);
    char shown[REFUSED_SHOWN + 1];
    snprintf(shown, sizeof shown, "%s", log);
    free(log);
    int status = tk_proc_stop(p, SIGTERM, START_MS);
    unlink(path);
    rmdir(dir);
    cr_assert(listening,
              "taskd with JWT_SECRET_FILE naming 48 random bytes (base64): expected it to start "
              "and log \"listening\" within %d ms; it did not (exit %d):\n%s",
              START_MS, status, shown);
    cr_assert(status == 0, "taskd: expected a clean exit on SIGTERM, got %d", status);
}

static void expect_absent(const char *log, const char *path, const char *value, const char *what)
{
    cr_assert(value && *value, "test bug: nothing to look for (%s)", what);
    const char *hit = strstr(log, value);
    if (!hit)
        return;
    const char *line = hit;
    while (line > log && line[-1] != '\n')
        line--;
    cr_assert_fail("the server's log (%s) holds %s; the line: %.*s", path, what,
                   (int)strcspn(line, "\n") > 400 ? 400 : (int)strcspn(line, "\n"), line);
}

GRADED(secrets, log_holds_no_password_token_or_secret, 3, .fini = w4_private_fini)
{
    struct tk_server *s = w4_private((const char *const[]){"LOG_LEVEL=debug", NULL});
    struct w4_user u;
    w4_user_new(s, "logged", &u);
    /* A password nothing else in the log could contain by chance. */
    char password[96], wrong[96], unique[64];
    snprintf(password, sizeof password, "Zq-%s-pw", tk_unique("sesame", unique, sizeof unique));
    snprintf(wrong, sizeof wrong, "Xk-%s-wrong", tk_unique("guess", unique, sizeof unique));
    char email[W4_EMAIL_MAX];
    w4_email("logged", email, sizeof email);
    struct w4_user v = {0};
    struct tk_response *r = w4_register(s, email, password);
    tk_expect_status(r, 201);
    v.id = tk_json_int(r, "id");
    tk_response_free(r);
    snprintf(v.email, sizeof v.email, "%s", email);
    r = w4_login(s, email, password);
    w4_user_take_tokens(&v, r);
    tk_response_free(r);
    char first_access[W4_TOKEN_MAX], first_refresh[W4_REFRESH_MAX];
    snprintf(first_access, sizeof first_access, "%s", v.access);
    snprintf(first_refresh, sizeof first_refresh, "%s", v.refresh);

    tk_response_free(w4_as(s, v.auth, "GET", "/me", NULL));
    tk_response_free(w4_as(s, v.auth, "POST", "/tasks", "{\"title\":\"logged task\"}"));
    tk_response_free(w4_as(s, v.auth, "GET", "/tasks", NULL));
    r = w4_refresh(s, v.refresh);
    w4_user_take_tokens(&v, r);
    tk_response_free(r);
    tk_response_free(w4_as(s, v.auth, "GET", "/tasks?status=todo", NULL));
    tk_response_free(w4_refresh(s, first_refresh)); /* a reuse: logged as an event, not a token */
    tk_response_free(w4_login(s, email, wrong));
    /* A refused token is a token too: it may be someone's real one, mistyped. */
    char claims[256];
    static const char other_key[] = "a key that is not the server's own key at all";
    char *forged = w4_jwt("{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                          w4_claims(v.id, 0, 300, claims, sizeof claims), 256,
                          (const unsigned char *)other_key, sizeof other_key - 1);
    char auth[W4_AUTH_MAX];
    tk_response_free(w4_as(s, w4_bearer(forged, auth, sizeof auth), "GET", "/tasks", NULL));
    tk_sleep_ms(200); /* the last request's log line is written after its answer */

    char *log = w4_read_file(tk_server_log_path(s));
    const char *path = tk_server_log_path(s);
    cr_assert(strstr(log, "/auth/login") && strstr(log, "/auth/refresh"),
              "the server's log (%s) should have a line for each request (POST /auth/login, "
              "/auth/refresh...), it has none: is this the right log?",
              path);
    expect_absent(log, path, password, "the password given to register and login");
    expect_absent(log, path, wrong, "the wrong password of a failed login");
    expect_absent(log, path, first_access, "an access token");
    expect_absent(log, path, strrchr(first_access, '.') + 1, "an access token's signature");
    expect_absent(log, path, v.access, "the refreshed access token");
    expect_absent(log, path, first_refresh, "a refresh token");
    expect_absent(log, path, v.refresh, "the rotated refresh token");
    expect_absent(log, path, strrchr(forged, '.') + 1, "the signature of a refused token");
    expect_absent(log, path, u.password, "the password of the other user");
    unsigned char secret[1024];
    size_t secret_len = w4_secret(secret, sizeof secret);
    char secret_text[1025];
    snprintf(secret_text, sizeof secret_text, "%.*s", (int)secret_len, (const char *)secret);
    expect_absent(log, path, secret_text, "JWT_SECRET");
    char db_password[256];
    if (*pg_api_url_password(tk_server_database_url(s), db_password, sizeof db_password))
        expect_absent(log, path, db_password, "the database password (of DATABASE_URL)");
    free(forged);
    free(log);
}
