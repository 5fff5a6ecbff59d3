/* unit_compose_doc.c — docker-compose's `config` of a compose.yaml, as cJSON (see the header).
 *
 * docker-compose prints errors and warnings on stderr and the resolved file on stdout, so stdout
 * is read through a pipe and stderr goes to a temporary file. Its environment is emptied with
 * `env -i` (a COMPOSE_FILE, COMPOSE_PROFILES or TASKD_PORT of the caller's must not change what
 * is judged), and --env-file names an empty file, so a .env beside compose.yaml is not read.
 * A suite that asks about one file many times shares one run (compose_doc_share). */
#include "unit_compose_doc.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml.h>

#include "buf.h"
#include "err.h"
#include "testkit.h"

#define MAX_DEPTH 64

struct compose_doc {
    char path[512];
    cJSON *config;
    char *warnings;
    yaml_document_t original; /* for compose_doc_line */
    bool has_original;
};

/* ---- YAML to cJSON ---- */

static cJSON *scalar_json(const yaml_node_t *node)
{
    const char *v = (const char *)node->data.scalar.value;
    if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return cJSON_CreateString(v);
    if (!*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 ||
        strcmp(v, "NULL") == 0)
        return cJSON_CreateNull();
    if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "TRUE") == 0)
        return cJSON_CreateTrue();
    if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 || strcmp(v, "FALSE") == 0)
        return cJSON_CreateFalse();
    return cJSON_CreateString(v);
}

static cJSON *node_json(yaml_document_t *doc, yaml_node_t *node, int depth);

static bool is_merge_key(const yaml_node_t *key)
{
    return key && key->type == YAML_SCALAR_NODE &&
           key->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           strcmp((const char *)key->data.scalar.value, "<<") == 0;
}

/* The pairs of mapping node into obj, those whose key obj already has left out: explicit keys
 * first, so that they win over merged ones, then each `<<` merge in order (YAML's merge key:
 * the first mapping that has a key gives its value). */
static int add_pairs(yaml_document_t *doc, yaml_node_t *node, cJSON *obj, bool merges, int depth)
{
    for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
         pair < node->data.mapping.pairs.top; pair++) {
        yaml_node_t *key = yaml_document_get_node(doc, pair->key);
        yaml_node_t *value = yaml_document_get_node(doc, pair->value);
        if (!key || key->type != YAML_SCALAR_NODE || !value)
            continue;
        if (is_merge_key(key) != merges)
            continue;
        if (!merges) {
            const char *name = (const char *)key->data.scalar.value;
            if (cJSON_GetObjectItemCaseSensitive(obj, name))
                continue;
            cJSON *v = node_json(doc, value, depth + 1);
            if (!v || !cJSON_AddItemToObject(obj, name, v)) {
                cJSON_Delete(v);
                return ERR_NOMEM;
            }
            continue;
        }
        if (value->type == YAML_MAPPING_NODE) {
            if (add_pairs(doc, value, obj, false, depth + 1) != 0 ||
                add_pairs(doc, value, obj, true, depth + 1) != 0)
                return ERR_NOMEM;
        } else if (value->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = value->data.sequence.items.start;
                 it < value->data.sequence.items.top; it++) {
                yaml_node_t *m = yaml_document_get_node(doc, *it);
                if (m && m->type == YAML_MAPPING_NODE &&
                    (add_pairs(doc, m, obj, false, depth + 1) != 0 ||
                     add_pairs(doc, m, obj, true, depth + 1) != 0))
                    return ERR_NOMEM;
            }
        }
    }
    return 0;
}

static cJSON *node_json(yaml_document_t *doc, yaml_node_t *node, int depth)
{
    if (!node || depth > MAX_DEPTH)
        return NULL;
    if (node->type == YAML_SCALAR_NODE)
        return scalar_json(node);
    if (node->type == YAML_SEQUENCE_NODE) {
        cJSON *arr = cJSON_CreateArray();
        for (yaml_node_item_t *it = node->data.sequence.items.start;
             arr && it < node->data.sequence.items.top; it++) {
            cJSON *v = node_json(doc, yaml_document_get_node(doc, *it), depth + 1);
            if (!v || !cJSON_AddItemToArray(arr, v)) {
                cJSON_Delete(v);
                cJSON_Delete(arr);
                return NULL;
            }
        }
        return arr;
    }
    cJSON *obj = cJSON_CreateObject();
    if (obj && (add_pairs(doc, node, obj, false, depth) != 0 ||
                add_pairs(doc, node, obj, true, depth) != 0)) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

/* Loads text into doc; false with why when it is not YAML. */
static bool load_document(const char *text, size_t len, yaml_document_t *doc, char *why,
                          size_t why_len)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        snprintf(why, why_len, "out of memory");
        return false;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    bool ok = yaml_parser_load(&parser, doc) != 0;
    if (!ok)
        snprintf(why, why_len, "not YAML: %s at line %zu", parser.problem ? parser.problem : "?",
                 parser.problem_mark.line + 1);
    yaml_parser_delete(&parser);
    return ok;
}

cJSON *compose_doc_yaml(const char *text, size_t len, char *why, size_t why_len)
{
    yaml_document_t doc;
    if (!load_document(text, len, &doc, why, why_len))
        return NULL;
    cJSON *json = node_json(&doc, yaml_document_get_root_node(&doc), 0);
    if (!json)
        snprintf(why, why_len, "an empty document, or nested deeper than %d", MAX_DEPTH);
    yaml_document_delete(&doc);
    return json;
}

/* ---- docker-compose config ---- */

/* What one run of docker-compose config said. */
struct run {
    int code;       /* its exit status (127: not installed) */
    struct buf out; /* stdout: the resolved file */
    char *err;      /* stderr: errors and warnings (owned) */
};

static void run_free(struct run *r)
{
    buf_free(&r->out);
    free(r->err);
    r->err = NULL;
}

/* A temporary file's path into path (the file exists, empty); false when none can be made. */
static bool temp_file(char *path, size_t len, const char *what)
{
    snprintf(path, len, "/tmp/compose-%s.XXXXXX", what);
    int fd = mkstemp(path);
    if (fd < 0)
        return false;
    close(fd);
    return true;
}

/* Runs docker-compose config on path. 0 (r filled, whatever its exit status), or ERR_IO or
 * ERR_NOMEM with why. */
static int run_config(const char *path, struct run *r, char *why, size_t why_len)
{
    int rc = ERR_IO;
    char env_file[64] = "", err_file[64] = "", cmd[2048];
    if (strchr(path, '\'')) {
        snprintf(why, why_len, "%s: a path with a ' in it is not supported here", path);
        goto done;
    }
    if (!temp_file(env_file, sizeof env_file, "env") ||
        !temp_file(err_file, sizeof err_file, "err")) {
        snprintf(why, why_len, "cannot make a temporary file in /tmp: %s", strerror(errno));
        goto done;
    }
    snprintf(cmd, sizeof cmd,
             "env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp LANG=C.UTF-8 docker-compose "
             "--env-file '%s' -f '%s' config 2>'%s'",
             env_file, path, err_file);
    FILE *p = popen(cmd, "r");
    if (!p) {
        snprintf(why, why_len, "cannot run docker-compose: %s", strerror(errno));
        goto done;
    }
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof chunk, p)) > 0)
        buf_append(&r->out, chunk, got);
    int status = pclose(p);
    r->code = WIFEXITED(status) ? WEXITSTATUS(status) : 128;
    r->err = tk_read_file(err_file, NULL);
    rc = r->err && !r->out.failed ? 0 : ERR_NOMEM;
    if (rc == ERR_NOMEM)
        snprintf(why, why_len, "%s: out of memory", path);
done:
    if (env_file[0])
        unlink(env_file);
    if (err_file[0])
        unlink(err_file);
    return rc;
}

/* The shared run's header: whose answer it is (the file's real path, modification time and
 * size, so an edited file is asked again), then the exit status and the length of stderr. The
 * bytes of stderr and then stdout follow. */
#define SHARED_ENV "COMPOSE_DOC_SHARED"

static bool identify(const char *path, char *id, size_t len)
{
    char real[PATH_MAX];
    struct stat st;
    if (!realpath(path, real) || stat(real, &st) != 0)
        return false;
    snprintf(id, len, "%s %lld.%09ld %lld", real, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
             (long long)st.st_size);
    return true;
}

/* The shared run's answer about path into r, when there is one and it is about this file as it
 * is now. */
static bool shared_run(const char *path, struct run *r)
{
    const char *file = getenv(SHARED_ENV);
    char id[PATH_MAX + 64];
    size_t len;
    char *text = file && identify(path, id, sizeof id) ? tk_read_file(file, &len) : NULL;
    if (!text)
        return false;
    size_t id_len = strlen(id), err_len;
    int code, head;
    bool ok = len > id_len && memcmp(text, id, id_len) == 0 && text[id_len] == '\n' &&
              sscanf(text + id_len + 1, "%d %zu\n%n", &code, &err_len, &head) == 2 &&
              id_len + 1 + (size_t)head + err_len <= len;
    if (ok) {
        const char *err = text + id_len + 1 + head;
        r->code = code;
        r->err = strndup(err, err_len);
        buf_append(&r->out, err + err_len, len - (size_t)(err + err_len - text));
        ok = r->err && !r->out.failed;
        if (!ok)
            run_free(r);
    }
    free(text);
    return ok;
}

int compose_doc_share(const char *path)
{
    char file[64] = "", why[512], id[PATH_MAX + 64];
    struct run r = {.out = BUF_INIT};
    int rc = identify(path, id, sizeof id) ? run_config(path, &r, why, sizeof why) : ERR_IO;
    if (rc == 0 && !temp_file(file, sizeof file, "config"))
        rc = ERR_IO;
    if (rc == 0) {
        FILE *f = fopen(file, "w");
        rc = f ? 0 : ERR_IO;
        if (f) {
            fprintf(f, "%s\n%d %zu\n%s", id, r.code, strlen(r.err), r.err);
            fwrite(r.out.data ? r.out.data : "", 1, r.out.len, f);
            if (fclose(f) != 0)
                rc = ERR_IO;
        }
    }
    if (rc == 0 && setenv(SHARED_ENV, file, 1) != 0)
        rc = ERR_NOMEM;
    if (rc != 0 && file[0])
        unlink(file);
    run_free(&r);
    return rc;
}

void compose_doc_unshare(void)
{
    const char *file = getenv(SHARED_ENV);
    if (file)
        unlink(file);
    unsetenv(SHARED_ENV);
}

int compose_doc_load(const char *path, struct compose_doc **out, char *why, size_t why_len)
{
    *out = NULL;
    int rc = ERR_NOMEM;
    struct run r = {.out = BUF_INIT};
    char *original = NULL;
    size_t original_len = 0;
    struct compose_doc *d = calloc(1, sizeof *d);
    if (!d)
        goto done;
    snprintf(d->path, sizeof d->path, "%s", path);
    errno = 0;
    original = tk_read_file(path, &original_len);
    if (!original) {
        snprintf(why, why_len, "cannot read %s: %s", path, errno ? strerror(errno) : "no memory");
        rc = errno ? ERR_IO : ERR_NOMEM;
        goto done;
    }
    if (!shared_run(path, &r) && (rc = run_config(path, &r, why, why_len)) != 0)
        goto done;
    if (r.code == 127) {
        snprintf(why, why_len,
                 "docker-compose is not installed here: the checker asks it to read %s "
                 "(`bash shared/scripts/install-deps.sh` installs it, Debian's package "
                 "docker-compose)",
                 path);
        rc = ERR_UNAVAILABLE;
        goto done;
    }
    if (r.code != 0) {
        snprintf(why, why_len, "docker-compose config rejects %s (exit %d):\n%s", path, r.code,
                 r.err);
        rc = ERR_INVALID;
        goto done;
    }
    char yaml_why[256];
    d->config =
        compose_doc_yaml(r.out.data ? r.out.data : "", r.out.len, yaml_why, sizeof yaml_why);
    if (!cJSON_IsObject(d->config)) {
        snprintf(why, why_len, "docker-compose config printed no document for %s (%s)", path,
                 d->config ? "not a mapping" : yaml_why);
        rc = ERR_INVALID;
        goto done;
    }
    d->warnings = r.err;
    r.err = NULL;
    /* Only for line numbers: a file docker-compose accepted is YAML. */
    d->has_original =
        load_document(original, original_len, &d->original, yaml_why, sizeof yaml_why);
    rc = 0;
done:
    run_free(&r);
    free(original);
    if (rc == ERR_NOMEM)
        snprintf(why, why_len, "%s: out of memory", path);
    if (rc == 0)
        *out = d;
    else
        compose_doc_free(d);
    return rc;
}

void compose_doc_free(struct compose_doc *d)
{
    if (!d)
        return;
    cJSON_Delete(d->config);
    free(d->warnings);
    if (d->has_original)
        yaml_document_delete(&d->original);
    free(d);
}

const char *compose_doc_path(const struct compose_doc *d)
{
    return d->path;
}

const cJSON *compose_doc_config(const struct compose_doc *d)
{
    return d->config;
}

const char *compose_doc_warnings(const struct compose_doc *d)
{
    return d->warnings ? d->warnings : "";
}

int compose_doc_line(const struct compose_doc *d, const char *const *keys, size_t n)
{
    if (!d->has_original)
        return 0;
    yaml_document_t *doc = (yaml_document_t *)&d->original;
    yaml_node_t *node = yaml_document_get_root_node(doc);
    for (size_t i = 0; i < n && node; i++) {
        if (node->type != YAML_MAPPING_NODE)
            return 0;
        yaml_node_t *next = NULL;
        for (yaml_node_pair_t *pair = node->data.mapping.pairs.start;
             pair < node->data.mapping.pairs.top; pair++) {
            yaml_node_t *key = yaml_document_get_node(doc, pair->key);
            if (key && key->type == YAML_SCALAR_NODE &&
                strcmp((const char *)key->data.scalar.value, keys[i]) == 0) {
                if (i + 1 == n)
                    return (int)key->start_mark.line + 1;
                next = yaml_document_get_node(doc, pair->value);
                break;
            }
        }
        node = next;
    }
    return 0;
}
