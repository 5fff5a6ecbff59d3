/* api_auth.c — black-box tests of stage 4's account routes (API.md week-4 rows: POST
 * /auth/register, /auth/login, /auth/refresh, /auth/logout, GET /me; "Tokens (week 4)"; "Settled
 * details: Auth").
 *
 * What a client can see of users and tokens: registration's exact body and its e-mail and
 * password rules (both bad fields reported at once; lengths in code points), a login whose two
 * ways of failing cannot be told apart — not by status, body, headers, nor by how long they take
 * — a token pair that rotates, a spent refresh token that burns its whole family when it comes
 * back (and of two concurrent refreshes with one token, exactly one wins), a logout that revokes
 * the family of its token and nothing else (204 whatever the token), and throttling that
 * answers 429 with Retry-After even to the right password, per e-mail and per client address.
 *
 * Tests that fail logins on purpose run a private server with a QUEUE_PREFIX of its own
 * (w4_private): the throttling counters live in Redis, and every failure counts against
 * 127.0.0.1, which the other suites on that Redis log in from too. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api_helpers.h"
#include "api_w4_helpers.h"
#include "testkit.h"

/* ------------------------------------------------------------------ helpers */

/* The body is exactly {"id","email","created_at"} of the user with this e-mail. */
static void expect_user_body(const struct tk_response *r, const char *email)
{
    api_expect_json_type(r);
    cr_assert(cJSON_IsObject(r->json) && cJSON_GetArraySize(r->json) == 3,
              "%s: expected exactly {\"id\",\"email\",\"created_at\"}, got: %.*s", r->what,
              W4_SHOWN, r->body);
    long long id = tk_json_int(r, "id");
    cr_assert(id > 0, "%s: expected a positive id, got %lld", r->what, id);
    tk_expect_json_str(r, "email", email);
    long long sec;
    long nsec;
    const char *created = tk_json_str(r, "created_at");
    cr_assert(api_parse_utc(created, &sec, &nsec),
              "%s: expected created_at as RFC 3339 in UTC with Z, got \"%s\"", r->what, created);
    long long now = w4_epoch_s();
    cr_assert(sec > now - 300 && sec < now + 300,
              "%s: expected created_at about now (%lld), got \"%s\"", r->what, now, created);
}

/* r, named what, must be a 422 whose errors name field; frees r. */
static void expect_field_422(struct tk_response *r, const char *what, const char *field)
{
    snprintf(r->what, sizeof r->what, "%s", what);
    tk_expect_problem(r, 422);
    tk_expect_field_error(r, field);
    tk_response_free(r);
}

/* POST /auth/register, named in failures by the e-mail and the password's length. */
static struct tk_response *register_as(struct tk_server *s, const char *email, const char *password)
{
    struct tk_response *r = w4_register(s, email, password);
    snprintf(r->what, sizeof r->what,
             "POST /auth/register {\"email\": \"%.80s\", password of %zu "
             "bytes}",
             email, strlen(password));
    return r;
}

/* POST /auth/register must be 422 naming exactly these fields (NULL-terminated). */
static void expect_register_refused(struct tk_server *s, const char *email, const char *password,
                                    const char *const *fields)
{
    struct tk_response *r = register_as(s, email, password);
    tk_expect_problem(r, 422);
    tk_expect_field_errors_exactly(r, fields);
    tk_response_free(r);
}

static void expect_register_accepted(struct tk_server *s, const char *email, const char *password)
{
    struct tk_response *r = register_as(s, email, password);
    tk_expect_status(r, 201);
    tk_response_free(r);
}

static void expect_login_401(struct tk_server *s, const char *email, const char *password,
                             const char *what)
{
    struct tk_response *r = w4_login(s, email, password);
    snprintf(r->what, sizeof r->what, "POST /auth/login with %s", what);
    w4_expect_401_challenge(r);
    tk_response_free(r);
}

static void expect_login_200(struct tk_server *s, const struct w4_user *u, const char *what)
{
    struct tk_response *r = w4_login(s, u->email, u->password);
    snprintf(r->what, sizeof r->what, "POST /auth/login with %s", what);
    tk_expect_status(r, 200);
    tk_response_free(r);
}

/* ------------------------------------------------------------------ register */

/* The suite's shared server, with a new user on it (tag names the user's e-mail). */
static struct tk_server *shared_user(const char *tag, struct w4_user *u)
{
    struct tk_server *s = tk_shared();
    w4_user_new(s, tag, u);
    return s;
}

/* POST /auth/refresh with token: 200 (want 200), or the 401 with its challenge (want 401). The
 * request is named in failures by what, formatted from fmt. */
__attribute__((format(printf, 4, 5))) static void
expect_refresh(struct tk_server *s, const char *token, long want, const char *fmt, ...)
{
    struct tk_response *r = w4_refresh(s, token);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->what, sizeof r->what, fmt, ap);
    va_end(ap);
    if (want == 200)
        tk_expect_status(r, 200);
    else
        w4_expect_401_challenge(r);
    tk_response_free(r);
}

GRADED(auth, register_returns_exactly_id_email_created_at, 2)
{
    struct tk_server *s = tk_shared();
    char unique[96], email[W4_EMAIL_MAX], lower[W4_EMAIL_MAX];
    tk_unique("Mixed.Case", unique, sizeof unique);
    snprintf(email, sizeof email, "%s@Example.COM", unique);
    for (size_t i = 0; i <= strlen(email); i++)
        lower[i] = (char)(email[i] >= 'A' && email[i] <= 'Z' ? email[i] + 32 : email[i]);

    struct tk_response *r = w4_register(s, email, "correct horse battery");
    tk_expect_status(r, 201);
    expect_user_body(r, lower);
    cr_assert(!strstr(r->body, "correct horse") && !strstr(r->body, "argon2"),
              "%s: the body must not carry the password or its hash: %.*s", r->what, W4_SHOWN,
              r->body);
    tk_response_free(r);

    /* Lower-cased, but not trimmed: surrounding white space is an invalid e-mail. */
    char spaced[W4_EMAIL_MAX];
    snprintf(spaced, sizeof spaced, " %s", w4_email("lead", email, sizeof email));
    expect_register_refused(s, spaced, "correct horse battery",
                            (const char *const[]){"email", NULL});
    snprintf(spaced, sizeof spaced, "%s ", w4_email("trail", email, sizeof email));
    expect_register_refused(s, spaced, "correct horse battery",
                            (const char *const[]){"email", NULL});
}

GRADED(auth, register_reports_both_bad_fields_together, 1)
{
    expect_register_refused(tk_shared(), "not-an-email", "short",
                            (const char *const[]){"email", "password", NULL});
}

GRADED(auth, register_enforces_the_email_rules, 2)
{
    struct tk_server *s = tk_shared();
    const char *pw = "a fine password";
    char unique[96], email[512];
    tk_unique("r", unique, sizeof unique); /* [a-z0-9-], a dozen characters */

    /* Local part of exactly 64, and a whole address of exactly 254 (labels of <= 63). */
    snprintf(email, sizeof email, "%s%0*d@example.com", unique, (int)(64 - strlen(unique)), 0);
    expect_register_accepted(s, email, pw);
    snprintf(email, sizeof email, "%s%0*d@example.com", unique, (int)(65 - strlen(unique)), 1);
    expect_register_refused(s, email, pw, (const char *const[]){"email", NULL});
    char *c63 = api_repeat("c", 63), *d63 = api_repeat("d", 63), *e57 = api_repeat("e", 57);
    snprintf(email, sizeof email, "%s%0*d@%s.%s.%s.com", unique, (int)(64 - strlen(unique)), 2, c63,
             d63, e57);
    cr_assert(strlen(email) == 254, "test bug: %zu", strlen(email));
    expect_register_accepted(s, email, pw);
    snprintf(email, sizeof email, "%s%0*d@%s.%s.%se.com", unique, (int)(64 - strlen(unique)), 3,
             c63, d63, e57);
    cr_assert(strlen(email) == 255, "test bug: %zu", strlen(email));
    expect_register_refused(s, email, pw, (const char *const[]){"email", NULL});
    free(c63);
    free(d63);
    free(e57);

    /* Dot-atom: every atext character is fine, and dots between atoms. */
    snprintf(email, sizeof email, "%s.a!#$%%&'*+/=?^_`{|}~-b@sub.example.co", unique);
    expect_register_accepted(s, email, pw);

    static const char *const bad[] = {
        "a@localhost",   /* one domain label */
        "a..b@x.io",     /* empty atom */
        ".a@x.io",       /* leading dot */
        "a.@x.io",       /* trailing dot */
        "a@x..io",       /* empty label */
        "a@.x.io",       /* empty first label */
        "a@x.io.",       /* trailing dot in the domain */
        "a b@x.io",      /* space */
        "ab.x.io",       /* no @ */
        "a@b@x.io",      /* two @ */
        "\"a\"@x.io",    /* quoted local part: not dot-atom */
        "a@[127.0.0.1]", /* domain literal */
        "\xc3\xa9@x.io", /* not ASCII */
        "@x.io",         /* empty local part */
        "a@",            /* empty domain */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_register_refused(s, bad[i], pw, (const char *const[]){"email", NULL});
}

GRADED(auth, register_counts_password_length_in_code_points, 2)
{
    struct tk_server *s = tk_shared();
    const char *grin = "\xf0\x9f\x98\x80"; /* U+1F600: 4 bytes, one code point */
    struct {
        const char *unit;
        size_t n;
        bool ok;
    } cases[] = {
        {"p", 8, true},  {"p", 7, false},  {"p", 128, true},  {"p", 129, false},
        {grin, 8, true}, {grin, 7, false}, {grin, 128, true}, {grin, 129, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char email[W4_EMAIL_MAX];
        char *pw = api_repeat(cases[i].unit, cases[i].n);
        w4_email("pwlen", email, sizeof email);
        struct tk_response *r = w4_register(s, email, pw);
        snprintf(r->what, sizeof r->what,
                 "POST /auth/register with a password of %zu code points (%zu bytes)", cases[i].n,
                 strlen(pw));
        if (cases[i].ok) {
            tk_expect_status(r, 201);
        } else {
            tk_expect_problem(r, 422);
            tk_expect_field_errors_exactly(r, (const char *const[]){"password", NULL});
        }
        tk_response_free(r);
        free(pw);
    }
}

GRADED(auth, register_duplicate_email_is_409_whatever_its_case, 1)
{
    struct tk_server *s = tk_shared();
    char email[W4_EMAIL_MAX], upper[W4_EMAIL_MAX];
    w4_email("dup", email, sizeof email);
    expect_register_accepted(s, email, "first password");
    for (size_t i = 0; i <= strlen(email); i++)
        upper[i] = (char)(email[i] >= 'a' && email[i] <= 'z' ? email[i] - 32 : email[i]);
    struct tk_response *r = w4_register(s, email, "second password");
    tk_expect_problem(r, 409);
    tk_response_free(r);
    r = w4_register(s, upper, "third password");
    snprintf(r->what, sizeof r->what, "POST /auth/register %.120s (taken in lower case)", upper);
    tk_expect_problem(r, 409);
    tk_response_free(r);
}

/* ------------------------------------------------------------------ login, /me */

GRADED(auth, login_returns_a_bearer_token_pair, 2)
{
    struct tk_server *s = tk_shared();
    struct w4_user u = {0};
    w4_email("login", u.email, sizeof u.email);
    snprintf(u.password, sizeof u.password, "password of the login test");
    struct tk_response *r = w4_register(s, u.email, u.password);
    tk_expect_status(r, 201);
    u.id = tk_json_int(r, "id");
    tk_response_free(r);
    r = w4_login(s, u.email, u.password);
    w4_expect_token_pair(r);
    w4_user_take_tokens(&u, r);
    tk_response_free(r);
    cr_assert(strcmp(u.access, u.refresh) != 0, "the access and refresh tokens are the same");

    cJSON *claims = w4_jwt_payload(u.access);
    char id[32];
    snprintf(id, sizeof id, "%lld", u.id);
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(claims, "sub");
    const cJSON *iss = cJSON_GetObjectItemCaseSensitive(claims, "iss");
    const cJSON *iat = cJSON_GetObjectItemCaseSensitive(claims, "iat");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
    const cJSON *jti = cJSON_GetObjectItemCaseSensitive(claims, "jti");
    char *text = cJSON_PrintUnformatted(claims);
    cr_assert(cJSON_IsString(sub) && strcmp(sub->valuestring, id) == 0,
              "the access token's sub should be the user id as a string (\"%s\"): %s", id, text);
    cr_assert(cJSON_IsString(iss) && strcmp(iss->valuestring, "taskd") == 0,
              "the access token's iss should be \"taskd\": %s", text);
    cr_assert(cJSON_IsNumber(iat) && cJSON_IsNumber(exp) &&
                  exp->valuedouble - iat->valuedouble == W4_ACCESS_TTL,
              "the access token should live %d s (exp - iat): %s", W4_ACCESS_TTL, text);
    cr_assert(iat->valuedouble > (double)(w4_epoch_s() - 120) &&
                  iat->valuedouble < (double)(w4_epoch_s() + 120),
              "the access token's iat should be now: %s", text);
    cr_assert(cJSON_IsString(jti) && *jti->valuestring, "the access token needs a jti: %s", text);
    free(text);
    cJSON_Delete(claims);

    /* Two logins give two different pairs. */
    r = w4_login(s, u.email, u.password);
    struct w4_user again = u;
    w4_user_take_tokens(&again, r);
    tk_response_free(r);
    cr_assert(strcmp(again.refresh, u.refresh) != 0 && strcmp(again.access, u.access) != 0,
              "two logins gave the same token");
}

GRADED(auth, me_returns_the_logged_in_user, 1)
{
    struct tk_server *s = tk_shared();
    char email[W4_EMAIL_MAX];
    w4_email("me", email, sizeof email);
    struct tk_response *reg = w4_register(s, email, "password of me");
    tk_expect_status(reg, 201);
    struct w4_user u = {0};
    struct tk_response *r = w4_login(s, email, "password of me");
    w4_user_take_tokens(&u, r);
    tk_response_free(r);

    r = w4_as(s, u.auth, "GET", "/me", NULL);
    tk_expect_status(r, 200);
    expect_user_body(r, email);
    tk_expect_json_int(r, "id", tk_json_int(reg, "id"));
    tk_expect_json_str(r, "created_at", tk_json_str(reg, "created_at"));
    tk_response_free(r);
    tk_response_free(reg);
}

/* Status, the problem's fields and the headers (but Date and X-Request-Id) of a failed login. */
static void fingerprint(const struct tk_response *r, char *buf, size_t len)
{
    size_t o = (size_t)snprintf(buf, len, "status %ld\n", r->status);
    static const char *const fields[] = {"type", "title", "status", "detail", "errors"};
    for (size_t i = 0; i < 5 && o < len; i++) {
        const cJSON *v = r->json ? cJSON_GetObjectItemCaseSensitive(r->json, fields[i]) : NULL;
        char *t = v ? cJSON_PrintUnformatted(v) : NULL;
        o += (size_t)snprintf(buf + o, len - o, "body %s: %s\n", fields[i], t ? t : "-");
        free(t);
    }
    int members = r->json ? cJSON_GetArraySize(r->json) : -1;
    if (o < len)
        o += (size_t)snprintf(buf + o, len - o, "body members: %d\n", members);
    for (const char *line = r->headers; line && *line && o < len;) {
        const char *eol = strstr(line, "\r\n");
        size_t n = eol ? (size_t)(eol - line) : strlen(line);
        bool skip = n == 0 || strncmp(line, "HTTP/", 5) == 0 ||
                    strncasecmp(line, "date:", 5) == 0 ||
                    strncasecmp(line, "x-request-id:", 13) == 0;
        if (!skip)
            o += (size_t)snprintf(buf + o, len - o, "header %.*s\n", (int)n, line);
        line = eol ? eol + 2 : line + n;
    }
}

static int cmp_ll(const void *a, const void *b)
{
    long long x = *(const long long *)a, y = *(const long long *)b;
    return (x > y) - (x < y);
}

GRADED(auth, login_failures_cannot_be_told_apart, 3, .fini = w4_private_fini)
{
    struct tk_server *s = w4_private(
        (const char *const[]){"LOGIN_MAX_FAILURES=100", "LOGIN_IP_MAX_FAILURES=1000", NULL});
    struct w4_user u;
    w4_user_new(s, "same401", &u);
    char unknown[W4_EMAIL_MAX];
    w4_email("nobody", unknown, sizeof unknown);

    struct tk_response *wrong = w4_login(s, u.email, "not the password");
    struct tk_response *nobody = w4_login(s, unknown, "not the password");
    snprintf(wrong->what, sizeof wrong->what, "POST /auth/login with a wrong password");
    snprintf(nobody->what, sizeof nobody->what, "POST /auth/login with an unknown e-mail");
    w4_expect_401_challenge(wrong);
    w4_expect_401_challenge(nobody);
    char a[4096], b[4096];
    fingerprint(wrong, a, sizeof a);
    fingerprint(nobody, b, sizeof b);
    cr_assert(strcmp(a, b) == 0,
              "a wrong password and an unknown e-mail must get the same 401 (status, body, "
              "headers); wrong password:\n%s\nunknown e-mail:\n%s",
              a, b);
    tk_response_free(wrong);
    tk_response_free(nobody);

    /* And take as long: an unknown e-mail still costs one password verification. */
    /* Medians of 5, the two kinds alternating which goes first, so a machine busy with other
     * work (CI runs suites side by side) slows both alike instead of one. */
    enum { ROUNDS = 5 };
    long long t_wrong[ROUNDS], t_nobody[ROUNDS];
    for (int i = 0; i < ROUNDS; i++) {
        const char *first = i % 2 ? unknown : u.email, *second = i % 2 ? u.email : unknown;
        long long t0 = w4_now_us();
        tk_response_free(w4_login(s, first, "not the password either"));
        long long t1 = w4_now_us();
        tk_response_free(w4_login(s, second, "not the password either"));
        long long t2 = w4_now_us();
        t_wrong[i] = i % 2 ? t2 - t1 : t1 - t0;
        t_nobody[i] = i % 2 ? t1 - t0 : t2 - t1;
    }
    qsort(t_wrong, ROUNDS, sizeof t_wrong[0], cmp_ll);
    qsort(t_nobody, ROUNDS, sizeof t_nobody[0], cmp_ll);
    double ratio =
        (double)t_nobody[ROUNDS / 2] / (double)(t_wrong[ROUNDS / 2] ? t_wrong[ROUNDS / 2] : 1);
    cr_assert(ratio >= 0.5 && ratio <= 2.0,
              "an unknown e-mail must cost about as much as a wrong password (one argon2id "
              "verification each): median %lld us vs %lld us (ratio %.2f, expected 0.5..2)",
              t_nobody[ROUNDS / 2], t_wrong[ROUNDS / 2], ratio);
}

GRADED(auth, login_gives_422_only_for_types_and_upper_bounds, 2, .fini = w4_private_fini)
{
    struct tk_server *s = w4_private(
        (const char *const[]){"LOGIN_MAX_FAILURES=100", "LOGIN_IP_MAX_FAILURES=1000", NULL});
    struct w4_user u;
    w4_user_new(s, "login422", &u);

    /* Below a lower bound or not an e-mail: just a failed login. */
    expect_login_401(s, u.email, "7 chars", "a 7-character password");
    expect_login_401(s, u.email, "", "an empty password");
    expect_login_401(s, "not-an-email", u.password, "an e-mail that is not one");
    expect_login_401(s, "", u.password, "an empty e-mail");
    char *pw128 = api_repeat("x", 128);
    expect_login_401(s, u.email, pw128, "a wrong 128-character password");
    free(pw128);

    /* Over an upper bound, or of the wrong type: 422 on that field. */
    char *pw129 = api_repeat("x", 129);
    struct tk_response *r = w4_login(s, u.email, pw129);
    expect_field_422(r, "POST /auth/login with a 129-character password", "password");
    free(pw129);
    char *local = api_repeat("l", 243), long_email[300];
    snprintf(long_email, sizeof long_email, "%s@example.com", local); /* 255 */
    free(local);
    r = w4_login(s, long_email, u.password);
    expect_field_422(r, "POST /auth/login with a 255-character e-mail", "email");

    char body[512];
    snprintf(body, sizeof body, "{\"email\":42,\"password\":\"%s\"}", u.password);
    r = tk_post_json(s, "/auth/login", body);
    expect_field_422(r, "POST /auth/login {\"email\": 42, ...}", "email");
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":[\"x\"]}", u.email);
    r = tk_post_json(s, "/auth/login", body);
    expect_field_422(r, "POST /auth/login {..., \"password\": [\"x\"]}", "password");

    expect_login_200(s, &u, "the right password, after all that");
}

/* ------------------------------------------------------------------ refresh */

GRADED(auth, refresh_rotates_the_token_pair, 2)
{
    struct w4_user u;
    struct tk_server *s = shared_user("rotate", &u);
    struct tk_response *r = w4_refresh(s, u.refresh);
    struct w4_user next = u;
    w4_expect_token_pair(r);
    w4_user_take_tokens(&next, r);
    tk_response_free(r);
    cr_assert(strcmp(next.refresh, u.refresh) != 0,
              "POST /auth/refresh must rotate: it gave back the same refresh token");
    cr_assert(strcmp(next.access, u.access) != 0,
              "POST /auth/refresh must give a new access token; it gave the same one");

    r = w4_as(s, next.auth, "GET", "/me", NULL);
    snprintf(r->what, sizeof r->what, "GET /me with the refreshed access token");
    tk_expect_status(r, 200);
    tk_expect_json_int(r, "id", u.id);
    tk_response_free(r);

    /* And the new refresh token works in turn. */
    expect_refresh(s, next.refresh, 200, "POST /auth/refresh with the rotated refresh token");
}

/* A user on the shared server whose login token (copied to first) was spent by one refresh:
 * u->refresh is the family's second token, unspent. */
static struct tk_server *user_with_a_spent_token(const char *tag, struct w4_user *u,
                                                 char first[W4_REFRESH_MAX])
{
    struct tk_server *s = shared_user(tag, u);
    snprintf(first, W4_REFRESH_MAX, "%s", u->refresh);
    struct tk_response *r = w4_refresh(s, first);
    w4_user_take_tokens(u, r);
    tk_response_free(r);
    return s;
}

GRADED(auth, reused_refresh_token_revokes_its_family, 3)
{
    struct w4_user u;
    char first[W4_REFRESH_MAX];
    struct tk_server *s = user_with_a_spent_token("reuse", &u, first);

    expect_refresh(s, first, 401, "POST /auth/refresh with a spent refresh token");

    expect_refresh(
        s, u.refresh, 401,
        "POST /auth/refresh with the newer token of a family whose spent token came back");
}

GRADED(auth, concurrent_refreshes_with_one_token_one_wins, 3)
{
    struct w4_user u;
    struct tk_server *s = shared_user("race", &u);
    char url[128];
    snprintf(url, sizeof url, "%s/auth/refresh", tk_server_url(s));

    for (int round = 0; round < 3; round++) {
        if (round > 0) {
            struct tk_response *r = w4_login(s, u.email, u.password);
            w4_user_take_tokens(&u, r);
            tk_response_free(r);
        }
        char body[W4_REFRESH_MAX + 32];
        snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", u.refresh);
        struct w4_racer racers[2] = {{.url = url, .body = body}, {.url = url, .body = body}};
        w4_race(racers, 2);
        for (int i = 0; i < 2; i++)
            cr_assert(!racers[i].error[0], "round %d: refresh %d got no answer: %s", round, i,
                      racers[i].error);
        long a = racers[0].status, b = racers[1].status;
        cr_assert((a == 200 && b == 401) || (a == 401 && b == 200),
                  "round %d: two concurrent POST /auth/refresh with one token must give exactly "
                  "one 200 and one 401, got %ld and %ld",
                  round, a, b);
        /* The loser counts as reuse: the family, the winner's new token included, is revoked. */
        const struct w4_racer *winner = a == 200 ? &racers[0] : &racers[1];
        cr_assert(winner->refresh[0], "round %d: the 200 carried no refresh_token", round);
        expect_refresh(
            s, winner->refresh, 401,
            "round %d: POST /auth/refresh with the winner's token, after the loser's reuse "
            "revoked the family",
            round);
    }
}

GRADED(auth, refresh_with_a_token_that_is_not_one_is_401, 1)
{
    struct w4_user u;
    struct tk_server *s = shared_user("badrefresh", &u);
    char near_miss[W4_REFRESH_MAX];
    snprintf(near_miss, sizeof near_miss, "%s", u.refresh);
    char *last = near_miss + strlen(near_miss) - 1;
    *last = (char)(*last == 'A' ? 'B' : 'A');
    struct {
        const char *token, *what;
    } cases[] = {
        {"garbage", "garbage"},
        {"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "43 base64url characters never issued"},
        {near_miss, "the user's refresh token with its last character changed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        expect_refresh(s, cases[i].token, 401, "POST /auth/refresh with %s", cases[i].what);
    }
    /* None of that spent or revoked the real one. */
    expect_refresh(s, u.refresh, 200, "POST /auth/refresh with the user's own refresh token");
}

/* ------------------------------------------------------------------ logout */

/* POST /auth/logout with {"refresh_token": token} (NULL: an empty object); want 204 or 422. */
static void expect_logout(struct tk_server *s, const char *token, long want, const char *what)
{
    char body[W4_REFRESH_MAX + 32];
    if (token)
        snprintf(body, sizeof body, "{\"refresh_token\":\"%s\"}", token);
    else
        snprintf(body, sizeof body, "{}");
    struct tk_response *r = tk_post_json(s, "/auth/logout", body);
    snprintf(r->what, sizeof r->what, "POST /auth/logout with %s", what);
    tk_expect_status(r, want);
    if (want == 204)
        cr_assert(r->body_len == 0, "%s: expected 204 with no body, got %zu bytes", r->what,
                  r->body_len);
    tk_response_free(r);
}

GRADED(auth, logout_revokes_the_whole_refresh_family, 3)
{
    struct w4_user u;
    char first[W4_REFRESH_MAX];
    struct tk_server *s = user_with_a_spent_token("logout", &u, first);

    /* Another login of the same user is another family: logout must leave it alone. */
    struct w4_user other = u;
    struct tk_response *r = w4_login(s, u.email, u.password);
    snprintf(r->what, sizeof r->what, "POST /auth/login for a second session");
    w4_user_take_tokens(&other, r);
    tk_response_free(r);

    expect_logout(s, u.refresh, 204, "the session's current refresh token");
    expect_refresh(s, u.refresh, 401, "POST /auth/refresh with the logged-out refresh token");
    expect_refresh(s, first, 401, "POST /auth/refresh with the logged-out family's spent token");

    /* Access tokens are not stored: the one issued before logout lives until its exp. */
    r = w4_as(s, u.auth, "GET", "/me", NULL);
    snprintf(r->what, sizeof r->what, "GET /me with an access token issued before logout");
    tk_expect_status(r, 200);
    tk_response_free(r);

    expect_refresh(s, other.refresh, 200, "POST /auth/refresh with the other session's token");
}

GRADED(auth, logout_answers_204_to_any_token_and_422_to_a_bad_body, 1)
{
    struct w4_user u;
    struct tk_server *s = shared_user("logout204", &u);
    expect_logout(s, "garbage", 204, "garbage");
    expect_logout(s, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 204,
                  "43 base64url characters never issued");
    expect_refresh(s, u.refresh, 200, "POST /auth/refresh after logouts of other tokens");
    expect_logout(s, NULL, 422, "an empty object");
    struct tk_response *r = w4_login(s, u.email, u.password);
    w4_user_take_tokens(&u, r);
    tk_response_free(r);
    expect_logout(s, u.refresh, 204, "a live refresh token");
    expect_logout(s, u.refresh, 204, "the same token again (already revoked)");
}

/* ------------------------------------------------------------------ throttling */

GRADED(auth, login_is_throttled_per_email_until_the_window_ends, 3, .fini = w4_private_fini)
{
    struct tk_server *s =
        w4_private((const char *const[]){"LOGIN_MAX_FAILURES=3", "LOGIN_WINDOW_SECONDS=5", NULL});
    struct w4_user u, other;
    w4_user_new(s, "throttled", &u);
    w4_user_new(s, "bystander", &other);
    for (int i = 1; i <= 3; i++) {
        char what[64];
        snprintf(what, sizeof what, "wrong password %d of 3", i);
        expect_login_401(s, u.email, "wrong password", what);
    }
    struct tk_response *r = w4_login(s, u.email, u.password);
    snprintf(r->what, sizeof r->what, "POST /auth/login with the RIGHT password after 3 failures");
    w4_expect_429(r, 5);
    tk_response_free(r);
    r = w4_login(s, u.email, "wrong password");
    snprintf(r->what, sizeof r->what, "POST /auth/login with a wrong password after 3 failures");
    long wait_s = w4_expect_429(r, 5);
    tk_response_free(r);

    /* Another e-mail is not affected. */
    expect_login_200(s, &other, "another user's e-mail during the lock-out");

    tk_sleep_ms((wait_s + 1) * 1000);
    expect_login_200(s, &u, "the right password once Retry-After has passed");
}

GRADED(auth, successful_login_resets_the_email_count, 2, .fini = w4_private_fini)
{
    struct tk_server *s =
        w4_private((const char *const[]){"LOGIN_MAX_FAILURES=3", "LOGIN_WINDOW_SECONDS=60", NULL});
    struct w4_user u;
    w4_user_new(s, "reset", &u); /* that login was a success already */
    expect_login_401(s, u.email, "wrong", "wrong password 1");
    expect_login_401(s, u.email, "wrong", "wrong password 2");
    expect_login_200(s, &u, "the right password after 2 failures (limit 3)");
    expect_login_401(s, u.email, "wrong", "wrong password 1 after a success (the count restarts)");
    expect_login_401(s, u.email, "wrong", "wrong password 2 after a success (the count restarts)");
    expect_login_200(s, &u, "the right password: 4 failures in the window, but 2 since a success");
}

GRADED(auth, login_is_throttled_per_client_address, 2, .fini = w4_private_fini)
{
    struct tk_server *s = w4_private((const char *const[]){
        "LOGIN_MAX_FAILURES=100", "LOGIN_IP_MAX_FAILURES=4", "LOGIN_WINDOW_SECONDS=60", NULL});
    struct w4_user u;
    w4_user_new(s, "ip", &u);
    for (int i = 1; i <= 4; i++) {
        char email[W4_EMAIL_MAX], what[96];
        w4_email("spray", email, sizeof email);
        snprintf(what, sizeof what, "failure %d of 4 from this address (a new e-mail each)", i);
        expect_login_401(s, email, "password spraying", what);
    }
    struct tk_response *r = w4_login(s, u.email, u.password);
    snprintf(r->what, sizeof r->what,
             "POST /auth/login with the right password of an untouched e-mail, after 4 failures "
             "from this address (LOGIN_IP_MAX_FAILURES=4)");
    w4_expect_429(r, 60);
    tk_response_free(r);
}

/* N wrong guesses for one e-mail, all released at once: each attempt must take its place in the
 * count before its password is checked (argon2id takes tens of milliseconds), or every guess
 * that arrives during another one's verification passes the check too. Counted, not timed: of
 * the N, at most the limit may be checked (401), and every other one is a 429. */
#define GUESSERS 20

GRADED(auth, concurrent_guesses_check_at_most_the_limit, 3, .fini = w4_private_fini)
{
    struct tk_server *s =
        w4_private((const char *const[]){"LOGIN_MAX_FAILURES=5", "LOGIN_IP_MAX_FAILURES=1000",
                                         "LOGIN_WINDOW_SECONDS=60", "HTTP_THREADS=20", NULL});
    struct w4_user u;
    w4_user_new(s, "guessed", &u);
    char url[128], body[W4_EMAIL_MAX + 96];
    snprintf(url, sizeof url, "%s/auth/login", tk_server_url(s));
    snprintf(body, sizeof body, "{\"email\":\"%s\",\"password\":\"a wrong guess\"}", u.email);

    struct w4_racer racers[GUESSERS];
    for (int i = 0; i < GUESSERS; i++)
        racers[i] = (struct w4_racer){.url = url, .body = body};
    w4_race(racers, GUESSERS);

    int checked = 0, refused = 0;
    for (int i = 0; i < GUESSERS; i++) {
        cr_assert(!racers[i].error[0], "guess %d got no answer: %s", i, racers[i].error);
        cr_assert(racers[i].status == 401 || racers[i].status == 429,
                  "guess %d: expected 401 or 429, got %ld", i, racers[i].status);
        checked += racers[i].status == 401;
        refused += racers[i].status == 429;
    }
    cr_assert(checked <= 5 && refused == GUESSERS - checked,
              "%d concurrent wrong guesses for one e-mail (LOGIN_MAX_FAILURES=5): expected at "
              "most 5 checked (401) and the rest refused (429), got %d 401 and %d 429",
              GUESSERS, checked, refused);

    /* Once the five failures are in (the guesses above were all wrong), the e-mail is locked. */
    for (int i = checked; i < 5; i++)
        expect_login_401(s, u.email, "a wrong guess", "a wrong guess to fill the count");
    struct tk_response *r = w4_login(s, u.email, u.password);
    snprintf(r->what, sizeof r->what,
             "POST /auth/login with the RIGHT password after %d concurrent wrong guesses",
             GUESSERS);
    w4_expect_429(r, 60);
    tk_response_free(r);
}
