/* unit_compose_lint.c — week 6's rules for compose.yaml (see the header).
 *
 * docker-compose's config spells every service one way: depends_on is a mapping of conditions
 * (the short list form becomes service_started), environment a mapping, secrets a list of
 * {source, target}, ports and volumes short strings unless written long. The rules still accept
 * the other spellings, so that they hold for any file docker-compose resolved. A message starts
 * with the original file's line of the service (or of the setting, when it is written in the
 * service itself rather than merged in from an anchor). */
#include "unit_compose_lint.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"

#define SECRETS_DIR "/run/secrets/"

static const cJSON *get(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

static const char *str(const cJSON *o, const char *key)
{
    const cJSON *v = get(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static const cJSON *services(const struct compose_doc *d)
{
    return get(compose_doc_config(d), "services");
}

/* "path:line: service NAME": the line of key (and subkey) in the service when they are written
 * there, else of the service. */
static const char *where(const struct compose_doc *d, const char *service, const char *key,
                         const char *subkey, char *buf, size_t len)
{
    const char *keys[] = {"services", service, key, subkey};
    int line = 0;
    if (key && subkey)
        line = compose_doc_line(d, keys, 4);
    if (!line && key)
        line = compose_doc_line(d, keys, 3);
    if (!line)
        line = compose_doc_line(d, keys, 2);
    if (line)
        snprintf(buf, len, "%s:%d: service %s", compose_doc_path(d), line, service);
    else
        snprintf(buf, len, "%s: service %s", compose_doc_path(d), service);
    return buf;
}

/* An environment (mapping, or list of NAME=value) as NAME/value pairs, one call each. */
static void each_env(const cJSON *env, void (*fn)(const char *name, const char *value, void *ctx),
                     void *ctx)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, env)
    {
        if (cJSON_IsObject(env)) {
            fn(e->string, cJSON_IsString(e) ? e->valuestring : "", ctx);
        } else if (cJSON_IsString(e)) {
            char name[256];
            size_t n = strcspn(e->valuestring, "=");
            snprintf(name, sizeof name, "%.*s", (int)n, e->valuestring);
            fn(name, e->valuestring[n] ? e->valuestring + n + 1 : "", ctx);
        }
    }
}

/* The names a list-or-mapping holds (depends_on, networks): the keys, or the strings. */
static bool names_have(const cJSON *v, const char *name)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, v)
    {
        const char *n = cJSON_IsObject(v) ? e->string : (cJSON_IsString(e) ? e->valuestring : "");
        if (n && strcmp(n, name) == 0)
            return true;
    }
    return false;
}

static bool in_profile(const cJSON *svc, const char *profile)
{
    const cJSON *p = get(svc, "profiles");
    return !cJSON_IsArray(p) || cJSON_GetArraySize(p) == 0 || names_have(p, profile);
}

void lint_compose_accepted(const struct compose_doc *d, struct lint *l)
{
    /* docker-compose's own words only: a Python warning from a library it imports (a path, then
     * an indented line of source) says nothing about the file. */
    struct buf said = BUF_INIT;
    for (const char *w = compose_doc_warnings(d); *w;) {
        size_t n = strcspn(w, "\n");
        if (n > 0 && w[0] != '/' && w[0] != ' ' && w[0] != '\t')
            buf_printf(&said, "%s%.*s", said.len ? "\n" : "", (int)n, w);
        w += n + (w[n] == '\n');
    }
    if (said.len)
        lint_add(l,
                 "%s: docker-compose config accepts it but warns (it reads the file with no "
                 "environment and no .env: every ${VARIABLE} needs a default, ${NAME:-value}):\n%s",
                 compose_doc_path(d), said.data);
    buf_free(&said);
}

/* ---- healthchecks ---- */

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail);
    return n >= t && strcmp(s + n - t, tail) == 0;
}

static bool same_file(const char *a, const char *b)
{
    char ra[PATH_MAX], rb[PATH_MAX];
    return realpath(a, ra) && realpath(b, rb) && strcmp(ra, rb) == 0;
}

/* Does the image a build section makes have a HEALTHCHECK? Adds a problem when it cannot be
 * told (no such Dockerfile or target); *about names the image for the message. */
static bool image_has_healthcheck(const struct compose_doc *d, const char *name, const cJSON *build,
                                  const struct dockerfile *df, char *about, size_t about_len,
                                  struct lint *l)
{
    char path[PATH_MAX], loc[512], why[1024];
    const char *context = cJSON_IsString(build) ? build->valuestring : str(build, "context");
    const char *file = str(build, "dockerfile"), *target = str(build, "target");
    if (!file)
        file = "Dockerfile";
    if (file[0] == '/')
        snprintf(path, sizeof path, "%s", file);
    else
        snprintf(path, sizeof path, "%s/%s", context ? context : ".", file);
    struct dockerfile *own = NULL;
    const struct dockerfile *use = df;
    if (!ends_with(path, "/compose/Dockerfile") && !same_file(path, dockerfile_path(df))) {
        if (dockerfile_parse(path, &own, why, sizeof why) != 0) {
            lint_add(l, "%s: builds from %s, which the checker cannot read: %s",
                     where(d, name, "build", NULL, loc, sizeof loc), path, why);
            return true;
        }
        use = own;
    }
    const struct dockerfile_stage *s = target
                                           ? dockerfile_stage_find(use, target)
                                           : dockerfile_stage(use, dockerfile_stage_count(use) - 1);
    snprintf(about, about_len, "%s, target %s", dockerfile_path(use),
             target ? target : "(the last stage)");
    bool has = true;
    if (!s) {
        lint_add(l, "%s: builds `target: %s`, and %s has no stage of that name",
                 where(d, name, "build", NULL, loc, sizeof loc), target, dockerfile_path(use));
    } else {
        const struct dockerfile_instr *in = dockerfile_last(use, s, "HEALTHCHECK");
        char word[16] = "";
        const char *rest = in ? dockerfile_skip_flags(in->args) : "";
        has = in && dockerfile_word(&rest, word, sizeof word) && strcasecmp(word, "NONE") != 0;
    }
    dockerfile_free(own);
    return has;
}

/* A healthcheck to suggest for a service that runs someone else's image. */
static const char *suggested_test(const char *image)
{
    if (image && strstr(image, "postgres"))
        return "[\"CMD\", \"pg_isready\", \"--host=127.0.0.1\", \"--username=taskd\"]";
    if (image && strstr(image, "redis"))
        return "[\"CMD\", \"redis-cli\", \"ping\"]";
    return "[\"CMD\", \"program\", \"args...\"] (a command in the image that exits 0 when the "
           "service answers)";
}

void lint_compose_healthchecks(const struct compose_doc *d, const struct dockerfile *df,
                               struct lint *l)
{
    const cJSON *svc;
    char loc[512], about[1024];
    cJSON_ArrayForEach(svc, services(d))
    {
        const cJSON *hc = get(svc, "healthcheck");
        if (hc) {
            const cJSON *test = get(hc, "test");
            const cJSON *first = cJSON_IsArray(test) ? cJSON_GetArrayItem(test, 0) : test;
            if (cJSON_IsTrue(get(hc, "disable")) ||
                (cJSON_IsString(first) && strcmp(first->valuestring, "NONE") == 0))
                lint_add(l,
                         "%s: its healthcheck is switched off (disable: true, or test: NONE): "
                         "`condition: service_healthy` on it can never be met",
                         where(d, svc->string, "healthcheck", NULL, loc, sizeof loc));
            continue;
        }
        const cJSON *build = get(svc, "build");
        if (build) {
            if (!image_has_healthcheck(d, svc->string, build, df, about, sizeof about, l))
                lint_add(l,
                         "%s: has no healthcheck: none in compose.yaml, and the image it builds "
                         "(%s) has no HEALTHCHECK either. Add the HEALTHCHECK to that stage, or "
                         "a healthcheck: here; without one nothing can wait for the service to be "
                         "ready, and `docker compose ps` cannot tell serving from merely running",
                         where(d, svc->string, NULL, NULL, loc, sizeof loc), about);
            continue;
        }
        lint_add(l,
                 "%s: has no healthcheck: its image (%s) is not built here, so compose.yaml must "
                 "say how to check it, or `condition: service_healthy` on it can never be met:\n"
                 "    healthcheck:\n      test: %s\n      interval: 5s\n      timeout: 3s\n"
                 "      retries: 5",
                 where(d, svc->string, NULL, NULL, loc, sizeof loc),
                 str(svc, "image") ? str(svc, "image") : "none", suggested_test(str(svc, "image")));
    }
}

void lint_compose_depends_on(const struct compose_doc *d, struct lint *l)
{
    const cJSON *svc, *dep;
    char loc[512];
    cJSON_ArrayForEach(svc, services(d))
    {
        const cJSON *deps = get(svc, "depends_on");
        cJSON_ArrayForEach(dep, deps)
        {
            const char *on = cJSON_IsObject(deps) ? dep->string : dep->valuestring;
            const char *cond = cJSON_IsObject(deps) ? str(dep, "condition") : NULL;
            if (!on || (cond && (strcmp(cond, "service_healthy") == 0 ||
                                 strcmp(cond, "service_completed_successfully") == 0)))
                continue;
            lint_add(l,
                     "%s: depends_on %s with condition %s%s: Compose starts %s as soon as %s's "
                     "container has started, before it answers (PostgreSQL takes seconds to "
                     "accept connections), so %s's first connections fail. Wait for its "
                     "healthcheck: `%s: {condition: service_healthy}`",
                     where(d, svc->string, "depends_on", on, loc, sizeof loc), on,
                     cond ? cond : "service_started",
                     cond && strcmp(cond, "service_started") != 0
                         ? ""
                         : " (what the short form, a plain list, means)",
                     svc->string, on, svc->string, on);
        }
    }
}

void lint_compose_secrets_are_files(const struct compose_doc *d, struct lint *l)
{
    const cJSON *secret;
    cJSON_ArrayForEach(secret, get(compose_doc_config(d), "secrets"))
    {
        if (str(secret, "file"))
            continue;
        const char *keys[] = {"secrets", secret->string};
        char loc[600];
        int line = compose_doc_line(d, keys, 2);
        if (line)
            snprintf(loc, sizeof loc, "%s:%d", compose_doc_path(d), line);
        else
            snprintf(loc, sizeof loc, "%s", compose_doc_path(d));
        lint_add(l,
                 "%s: the secret %s is %s: without Swarm, Compose mounts secrets from files. "
                 "Declare it `file: ./secrets/%s` (compose/make-secrets.sh makes the files; they "
                 "are never committed)",
                 loc, secret->string,
                 cJSON_IsTrue(get(secret, "external")) ? "external (a Swarm secret)" : "not a file",
                 secret->string);
    }
}

/* ---- what the environment holds ---- */

struct env_check {
    const struct compose_doc *d;
    const char *service, *key; /* key: "environment" or "build" (its args) */
    struct lint *l;
};

static void check_secret_env(const char *name, const char *value, void *ctx)
{
    struct env_check *c = ctx;
    bool by_name = lint_secret_name(name);
    if (!by_name && !lint_url_password(value))
        return;
    char loc[512];
    const char *what = by_name ? "is a secret" : "holds a URL with user:password@ in it";
    where(c->d, c->service, c->key, name, loc, sizeof loc);
    if (strcmp(c->key, "build") == 0)
        lint_add(c->l,
                 "%s: the build argument %s %s: build arguments are written into the image's "
                 "history (docker history --no-trunc shows them). Mount the value as a secret "
                 "file when the container runs, and pass its path: %s_FILE: /run/secrets/NAME",
                 loc, name, what, name);
    else
        lint_add(c->l,
                 "%s: %s in its environment %s: `docker inspect` shows a container's "
                 "environment, every child process inherits it, and crash reports log it. Mount "
                 "the value as a secret file and pass its path instead: %s_FILE: /run/secrets/NAME",
                 loc, name, what, name);
}

void lint_compose_no_secret_env(const struct compose_doc *d, struct lint *l)
{
    const cJSON *svc;
    cJSON_ArrayForEach(svc, services(d))
    {
        struct env_check c = {d, svc->string, "environment", l};
        each_env(get(svc, "environment"), check_secret_env, &c);
        c.key = "build";
        each_env(get(get(svc, "build"), "args"), check_secret_env, &c);
    }
}

struct file_setting {
    const char *path; /* the secret's path in the container */
    bool found;
};

static void names_path(const char *name, const char *value, void *ctx)
{
    struct file_setting *f = ctx;
    f->found = f->found || (ends_with(name, "_FILE") && strcmp(value, f->path) == 0);
}

struct mounted_check {
    const struct compose_doc *d;
    const cJSON *svc;
    struct lint *l;
};

/* The path in the container where a service's secret entry appears. */
static void secret_path(const cJSON *entry, char *path, size_t len, const char **source)
{
    const char *target = cJSON_IsString(entry) ? NULL : str(entry, "target");
    *source = cJSON_IsString(entry) ? entry->valuestring : str(entry, "source");
    const char *name = target ? target : (*source ? *source : "");
    snprintf(path, len, "%s%s", name[0] == '/' ? "" : SECRETS_DIR, name);
}

static void is_mounted(const char *name, const char *value, void *ctx)
{
    struct mounted_check *c = ctx;
    char loc[512], path[512];
    const char *source;
    if (!ends_with(name, "_FILE") || strncmp(value, SECRETS_DIR, strlen(SECRETS_DIR)) != 0)
        return;
    const cJSON *entry;
    cJSON_ArrayForEach(entry, get(c->svc, "secrets"))
    {
        secret_path(entry, path, sizeof path, &source);
        if (strcmp(path, value) == 0)
            return;
    }
    lint_add(c->l,
             "%s: %s=%s, but the service does not mount that secret: the file will not be "
             "there, and the program stops at start. Add it to the service: `secrets: [%s]`",
             where(c->d, c->svc->string, "environment", name, loc, sizeof loc), name, value,
             value + strlen(SECRETS_DIR));
}

void lint_compose_secret_files_read(const struct compose_doc *d, struct lint *l)
{
    const cJSON *svc, *entry;
    char loc[512], path[512], setting[256];
    cJSON_ArrayForEach(svc, services(d))
    {
        cJSON_ArrayForEach(entry, get(svc, "secrets"))
        {
            const char *source;
            secret_path(entry, path, sizeof path, &source);
            struct file_setting f = {path, false};
            each_env(get(svc, "environment"), names_path, &f);
            if (f.found)
                continue;
            size_t n = 0;
            for (; source && source[n] && n + 6 < sizeof setting; n++)
                setting[n] = (char)toupper((unsigned char)source[n]);
            snprintf(setting + n, sizeof setting - n, "_FILE");
            lint_add(l,
                     "%s: mounts the secret %s at %s, but no *_FILE setting of its environment "
                     "names that path, so nothing reads it (and the program falls back to a "
                     "default, or stops). Tell the program where it is: `%s: %s`",
                     where(d, svc->string, "secrets", NULL, loc, sizeof loc), source ? source : "?",
                     path, setting, path);
        }
        struct mounted_check c = {d, svc, l};
        each_env(get(svc, "environment"), is_mounted, &c);
    }
}

/* The settings a service cannot start without: what its program reads its secrets from. The
 * postgres image needs its password; taskd from stage 2 its database URL (it holds a
 * password), from stage 4 the key that signs tokens too; the worker its database URL. */
struct needed_setting {
    const char *name;
    bool found_mounted; /* set, to a /run/secrets path the service mounts */
    const cJSON *svc;
};

static void finds_needed(const char *name, const char *value, void *ctx)
{
    struct needed_setting *n = ctx;
    if (strcmp(name, n->name) != 0 || strncmp(value, SECRETS_DIR, strlen(SECRETS_DIR)) != 0)
        return;
    const cJSON *entry;
    char path[512];
    const char *source;
    cJSON_ArrayForEach(entry, get(n->svc, "secrets"))
    {
        secret_path(entry, path, sizeof path, &source);
        n->found_mounted = n->found_mounted || strcmp(path, value) == 0;
    }
}

static void need_setting(const struct compose_doc *d, const cJSON *svc, const char *name,
                         const char *why, struct lint *l)
{
    struct needed_setting n = {name, false, svc};
    each_env(get(svc, "environment"), finds_needed, &n);
    if (n.found_mounted)
        return;
    char loc[512];
    lint_add(l,
             "%s: no %s pointing at a secret the service mounts, so %s. Declare the secret as a "
             "file (top-level `secrets:`), give it to the service (`secrets: [...]`) and set "
             "`%s: /run/secrets/NAME`",
             where(d, svc->string, "environment", NULL, loc, sizeof loc), name, why, name);
}

void lint_compose_programs_get_their_secrets(const struct compose_doc *d, struct lint *l)
{
    const cJSON *svc;
    cJSON_ArrayForEach(svc, services(d))
    {
        const char *image = str(svc, "image");
        const cJSON *build = get(svc, "build");
        const char *target = build ? str(build, "target") : NULL;
        const char *week = build ? str(get(build, "args"), "WEEK") : NULL;
        long wk = week ? strtol(week, NULL, 10) : 0;
        if (!build && image && strstr(image, "postgres"))
            need_setting(d, svc, "POSTGRES_PASSWORD_FILE",
                         "PostgreSQL's first start has no password for its role and stops", l);
        if (target && strcmp(target, "taskd") == 0 && wk >= 2)
            need_setting(d, svc, "DATABASE_URL_FILE",
                         "taskd has no way to reach PostgreSQL (its URL holds the password)", l);
        if (target && strcmp(target, "taskd") == 0 && wk >= 4)
            need_setting(d, svc, "JWT_SECRET_FILE",
                         "taskd from stage 4 has no key to sign tokens with and stops", l);
        if (target && strcmp(target, "worker") == 0)
            need_setting(d, svc, "DATABASE_URL_FILE", "the worker has no way to reach PostgreSQL",
                         l);
    }
}

/* ---- network, ports, volumes ---- */

void lint_compose_one_network(const struct compose_doc *d, struct lint *l)
{
    const cJSON *nets = get(compose_doc_config(d), "networks"), *svc;
    int n = cJSON_GetArraySize(nets);
    char loc[512];
    if (n != 1) {
        lint_add(l,
                 "%s: %d networks declared: the stack needs exactly one private network that "
                 "every service is on (`networks: {backend: {}}` at the top level, "
                 "`networks: [backend]` in each service), so that services find each other by "
                 "name and nothing else shares it",
                 compose_doc_path(d), n);
        return;
    }
    const char *net = cJSON_GetArrayItem(nets, 0)->string;
    cJSON_ArrayForEach(svc, services(d))
    {
        const char *mode = str(svc, "network_mode");
        if (mode)
            lint_add(l,
                     "%s: network_mode: %s takes it off the stack's network%s: remove it and "
                     "put the service on %s (`networks: [%s]`)",
                     where(d, svc->string, "network_mode", NULL, loc, sizeof loc), mode,
                     strcmp(mode, "host") == 0 ? " and puts every port it opens on the host's "
                                                 "interfaces"
                                               : "",
                     net, net);
        else if (!names_have(get(svc, "networks"), net))
            lint_add(l,
                     "%s: is not on the network %s (it would land on Compose's default "
                     "network, apart from the others): add `networks: [%s]`",
                     where(d, svc->string, "networks", NULL, loc, sizeof loc), net, net);
    }
}

/* The host address a port entry binds, into ip ("" when every interface). */
static void published_ip(const cJSON *port, char *ip, size_t len)
{
    ip[0] = '\0';
    if (cJSON_IsObject(port)) {
        const char *h = str(port, "host_ip");
        snprintf(ip, len, "%s", h ? h : "");
        return;
    }
    const char *s = cJSON_IsString(port) ? port->valuestring : "";
    if (s[0] == '[') { /* [::1]:8080:8080 */
        size_t n = strcspn(s + 1, "]");
        snprintf(ip, len, "%.*s", (int)n, s + 1);
        return;
    }
    size_t colons = 0;
    for (const char *c = s; *c; c++)
        colons += *c == ':';
    if (colons == 2) /* IP:HOST:CONTAINER; HOST:CONTAINER and CONTAINER bind every interface */
        snprintf(ip, len, "%.*s", (int)strcspn(s, ":"), s);
}

/* A port entry as one writes it: the string, or the long form's [host_ip:]published:target. */
static void port_text(const cJSON *port, char *text, size_t len)
{
    if (cJSON_IsString(port)) {
        snprintf(text, len, "%s", port->valuestring);
        return;
    }
    const char *ip = str(port, "host_ip"), *published = str(port, "published"),
               *target = str(port, "target");
    snprintf(text, len, "%s%s%s:%s", ip ? ip : "", ip ? ":" : "", published ? published : "?",
             target ? target : "?");
}

void lint_compose_loopback_ports(const struct compose_doc *d, struct lint *l)
{
    const cJSON *svc, *port;
    char loc[512], ip[128], text[256];
    cJSON_ArrayForEach(svc, services(d))
    {
        cJSON_ArrayForEach(port, get(svc, "ports"))
        {
            published_ip(port, ip, sizeof ip);
            if (strncmp(ip, "127.", 4) == 0 || strcmp(ip, "::1") == 0)
                continue;
            port_text(port, text, sizeof text);
            lint_add(l,
                     "%s: publishes \"%s\" on %s: every machine that reaches this host reaches "
                     "the container, past the host's firewall (Docker writes its own rules ahead "
                     "of ufw's). Bind it to loopback: \"127.0.0.1:HOST:CONTAINER\"",
                     where(d, svc->string, "ports", NULL, loc, sizeof loc), text,
                     ip[0] ? ip : "every interface (no address, or 0.0.0.0)");
        }
    }
}

static bool is_postgres(const cJSON *svc)
{
    const char *image = str(svc, "image");
    return strcmp(svc->string, "postgres") == 0 || (image && strstr(image, "postgres"));
}

/* A volume entry's source ("" when anonymous) and target. */
static void volume_parts(const cJSON *v, char *source, char *target, size_t len)
{
    source[0] = target[0] = '\0';
    if (cJSON_IsObject(v)) {
        snprintf(source, len, "%s", str(v, "source") ? str(v, "source") : "");
        snprintf(target, len, "%s", str(v, "target") ? str(v, "target") : "");
        return;
    }
    const char *s = cJSON_IsString(v) ? v->valuestring : "";
    const char *colon = strchr(s, ':');
    if (!colon) {
        snprintf(target, len, "%s", s);
        return;
    }
    snprintf(source, len, "%.*s", (int)(colon - s), s);
    snprintf(target, len, "%.*s", (int)strcspn(colon + 1, ":"), colon + 1);
}

void lint_compose_postgres_volume(const struct compose_doc *d, struct lint *l)
{
    const cJSON *svc, *v;
    char loc[512], source[512], target[512];
    bool any = false;
    cJSON_ArrayForEach(svc, services(d))
    {
        if (!is_postgres(svc))
            continue;
        any = true;
        const char *pgdata = NULL;
        const cJSON *env = get(svc, "environment");
        if (cJSON_IsObject(env))
            pgdata = str(env, "PGDATA");
        if (!pgdata)
            pgdata = "/var/lib/postgresql/data";
        const cJSON *mount = NULL;
        cJSON_ArrayForEach(v, get(svc, "volumes"))
        {
            volume_parts(v, source, target, sizeof source);
            size_t t = strlen(target);
            if (t && strncmp(pgdata, target, t) == 0 && (pgdata[t] == '\0' || pgdata[t] == '/')) {
                mount = v;
                break;
            }
        }
        where(d, svc->string, "volumes", NULL, loc, sizeof loc);
        if (!mount)
            lint_add(l,
                     "%s: its data directory %s is on no volume: the database lives in the "
                     "container's own layer and is gone with `docker compose down`. Mount a "
                     "named volume there, `volumes: [\"pg-data:%s\"]`, declared under the "
                     "top-level volumes:",
                     loc, pgdata, pgdata);
        else if (!source[0])
            lint_add(l,
                     "%s: %s is an anonymous volume: it gets a random name, and after `docker "
                     "compose down` the next `up` makes a new, empty one. Name it: "
                     "`pg-data:%s`, declared under the top-level volumes:",
                     loc, target, target);
        else if (source[0] == '/' || source[0] == '.' || source[0] == '~' ||
                 (cJSON_IsObject(mount) && str(mount, "type") &&
                  strcmp(str(mount, "type"), "bind") == 0))
            lint_add(l,
                     "%s: %s is a directory of the host (%s), not a named volume: its owner and "
                     "modes are the host's (PostgreSQL refuses a data directory it does not "
                     "own), and it sits among your files. Use a named volume: `pg-data:%s`",
                     loc, target, source, target);
    }
    if (!any)
        lint_add(l,
                 "%s: no PostgreSQL service (one named postgres, or whose image is postgres): "
                 "the stacks of weeks 2-6 keep their tasks there",
                 compose_doc_path(d));
}

/* ---- profiles ---- */

void lint_compose_profiles(const struct compose_doc *d, struct lint *l)
{
    const cJSON *svc;
    char loc[512], profile[16];
    cJSON_ArrayForEach(svc, services(d))
    {
        const cJSON *p = get(svc, "profiles");
        if (!cJSON_IsArray(p) || cJSON_GetArraySize(p) == 0)
            lint_add(l,
                     "%s: has no profiles, so it starts with every week's stack: give it the "
                     "weeks it belongs to, e.g. `profiles: [week3, week4, week5, week6]`",
                     where(d, svc->string, NULL, NULL, loc, sizeof loc));
    }
    for (int w = 1; w <= LINT_COMPOSE_WEEKS; w++) {
        snprintf(profile, sizeof profile, "week%d", w);
        bool used = false;
        cJSON_ArrayForEach(svc, services(d))
        {
            used = used || names_have(get(svc, "profiles"), profile);
        }
        if (!used)
            lint_add(l,
                     "%s: no service is in the profile %s: `docker compose --profile %s up` "
                     "would start nothing (one profile per week: week1 ... week%d)",
                     compose_doc_path(d), profile, profile, LINT_COMPOSE_WEEKS);
    }
}

void lint_compose_profile_dependencies(const struct compose_doc *d, struct lint *l)
{
    const cJSON *svc, *dep;
    char loc[512], profile[16];
    for (int w = 1; w <= LINT_COMPOSE_WEEKS; w++) {
        snprintf(profile, sizeof profile, "week%d", w);
        cJSON_ArrayForEach(svc, services(d))
        {
            if (!names_have(get(svc, "profiles"), profile))
                continue;
            const cJSON *deps = get(svc, "depends_on");
            cJSON_ArrayForEach(dep, deps)
            {
                const char *on = cJSON_IsObject(deps) ? dep->string : dep->valuestring;
                const cJSON *target = on ? get(services(d), on) : NULL;
                if (!target || in_profile(target, profile))
                    continue;
                lint_add(l,
                         "%s: in the profile %s it depends on %s, which that profile does not "
                         "start: `docker compose --profile %s up` stops, saying %s was pulled in "
                         "as a dependency but is not enabled. Add %s to %s's profiles",
                         where(d, svc->string, "depends_on", on, loc, sizeof loc), profile, on,
                         profile, on, profile, on);
            }
        }
    }
}
