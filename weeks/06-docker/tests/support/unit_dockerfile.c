/* unit_dockerfile.c — reads a Dockerfile into instructions and stages (see unit_dockerfile.h).
 *
 * The builder's rules, as far as the checker needs them: parser directives only before anything
 * else; a comment is a line whose first non-blank character is #, and it is dropped even inside a
 * continued instruction (so are empty lines); a line ending in the escape character (\, or ` after
 * `# escape=`) continues on the next; the first word is the instruction, in any case; a heredoc
 * (RUN <<EOF ... EOF) takes the lines up to its terminator. A stage starts at each FROM, and its
 * image is an earlier stage when FROM names one (case-insensitively). */
#include "unit_dockerfile.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "err.h"
#include "testkit.h"

struct dockerfile {
    char path[512];
    struct dockerfile_instr *instrs;
    size_t n_instrs, cap_instrs;
    struct dockerfile_stage *stages;
    size_t n_stages, cap_stages;
};

static const char *const instructions[] = {
    "ADD",   "ARG",     "CMD", "COPY",  "ENTRYPOINT", "ENV",  "EXPOSE", "FROM",    "HEALTHCHECK",
    "LABEL", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR", "MAINTAINER"};

/* The file being read: its text, split into lines in place as they are taken. */
struct parser {
    struct dockerfile *df;
    char *next; /* the first line not taken yet */
    int line;   /* the number of the last line taken */
    char escape;
    char *why;
    size_t why_len;
};

static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    return s;
}

static int fail(struct parser *p, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(struct parser *p, int line, const char *fmt, ...)
{
    int n = snprintf(p->why, p->why_len, "%s:%d: ", p->df->path, line);
    if (n >= 0 && (size_t)n < p->why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->why + n, p->why_len - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return ERR_MALFORMED;
}

/* The next line, without its end of line; NULL at the end of the file. */
static char *next_line(struct parser *p)
{
    if (!*p->next)
        return NULL;
    char *line = p->next;
    char *nl = strchr(line, '\n');
    if (nl) {
        *nl = '\0';
        p->next = nl + 1;
    } else {
        p->next = line + strlen(line);
    }
    size_t n = strlen(line);
    if (n > 0 && line[n - 1] == '\r')
        line[n - 1] = '\0';
    p->line++;
    return line;
}

/* A parser directive: `# key=value` with a key the builder knows. Anything else, a comment
 * included, ends the directives. */
static bool directive(const char *s, char *key, size_t key_len, char *value, size_t value_len)
{
    if (*s != '#')
        return false;
    s = skip_space(s + 1);
    size_t k = 0;
    while (isalpha((unsigned char)s[k]) && k + 1 < key_len) {
        key[k] = (char)tolower((unsigned char)s[k]);
        k++;
    }
    key[k] = '\0';
    if (strcmp(key, "escape") != 0 && strcmp(key, "syntax") != 0 && strcmp(key, "check") != 0)
        return false;
    s = skip_space(s + k);
    if (*s != '=')
        return false;
    snprintf(value, value_len, "%s", skip_space(s + 1));
    size_t n = strlen(value);
    while (n > 0 && isspace((unsigned char)value[n - 1]))
        value[--n] = '\0';
    return true;
}

static int push_instr(struct dockerfile *df, const struct dockerfile_instr *in)
{
    if (df->n_instrs == df->cap_instrs) {
        size_t cap = df->cap_instrs ? 2 * df->cap_instrs : 32;
        struct dockerfile_instr *more = realloc(df->instrs, cap * sizeof *more);
        if (!more)
            return ERR_NOMEM;
        df->instrs = more;
        df->cap_instrs = cap;
    }
    df->instrs[df->n_instrs++] = *in;
    return 0;
}

static int push_stage(struct dockerfile *df, const struct dockerfile_stage *st)
{
    if (df->n_stages == df->cap_stages) {
        size_t cap = df->cap_stages ? 2 * df->cap_stages : 8;
        struct dockerfile_stage *more = realloc(df->stages, cap * sizeof *more);
        if (!more)
            return ERR_NOMEM;
        df->stages = more;
        df->cap_stages = cap;
    }
    df->stages[df->n_stages++] = *st;
    return 0;
}

/* The heredocs an instruction opens (RUN <<EOF, COPY <<-"A" <<B): each one's body is taken from
 * the lines that follow, up to its terminator, and appended to text after a newline. */
static int read_heredocs(struct parser *p, const char *opened, int line, struct buf *text)
{
    for (const char *h = strstr(opened, "<<"); h; h = strstr(h + 2, "<<")) {
        const char *r = h + 2;
        if (*r == '<')
            continue; /* <<< is a shell here-string */
        bool strip_tabs = *r == '-';
        if (strip_tabs)
            r++;
        char quote = (*r == '"' || *r == '\'') ? *r++ : '\0';
        char word[64];
        size_t n = 0;
        while ((isalnum((unsigned char)r[n]) || r[n] == '_') && n + 1 < sizeof word) {
            word[n] = r[n];
            n++;
        }
        word[n] = '\0';
        if (n == 0 || (quote && r[n] != quote))
            continue;
        bool ended = false;
        char *body;
        while (!ended && (body = next_line(p))) {
            const char *b = body;
            if (strip_tabs)
                while (*b == '\t')
                    b++;
            ended = strcmp(b, word) == 0;
            if (buf_putc(text, '\n') != 0 || buf_puts(text, body) != 0)
                return ERR_NOMEM;
        }
        if (!ended)
            return fail(p, line, "the heredoc <<%s never ends: no line %s follows it", word, word);
    }
    return 0;
}

/* FROM [--platform=...] IMAGE [AS NAME]: a new stage. */
static int add_stage(struct parser *p, const char *args, int line)
{
    struct dockerfile_stage st = {.line = line, .parent = -1, .first = p->df->n_instrs};
    char as[16], extra[64];
    const char *q = dockerfile_skip_flags(args);
    if (!dockerfile_word(&q, st.image, sizeof st.image))
        return fail(p, line, "FROM names no image");
    if (dockerfile_word(&q, as, sizeof as)) {
        if (strcasecmp(as, "AS") != 0)
            return fail(p, line, "FROM %s %s: after the image only `AS name` may follow", st.image,
                        as);
        if (!dockerfile_word(&q, st.name, sizeof st.name))
            return fail(p, line, "FROM %s AS: the stage's name is missing", st.image);
        if (dockerfile_word(&q, extra, sizeof extra))
            return fail(p, line, "FROM %s AS %s %s: one name per stage", st.image, st.name, extra);
        for (char *c = st.name; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        if (dockerfile_stage_find(p->df, st.name) && !isdigit((unsigned char)st.name[0]))
            return fail(p, line, "a second stage named %s: stage names must be unique", st.name);
    }
    for (size_t i = 0; i < p->df->n_stages; i++)
        if (p->df->stages[i].name[0] && strcasecmp(p->df->stages[i].name, st.image) == 0)
            st.parent = (int)i;
    return push_stage(p->df, &st);
}

/* One logical line (continuations joined) that starts on line: its keyword and arguments. */
static int add_instruction(struct parser *p, const char *text, int line)
{
    const char *s = skip_space(text);
    struct dockerfile_instr in = {.line = line, .stage = (int)p->df->n_stages - 1};
    size_t k = 0;
    while (isalpha((unsigned char)s[k]) && k + 1 < sizeof in.keyword) {
        in.keyword[k] = (char)toupper((unsigned char)s[k]);
        k++;
    }
    in.keyword[k] = '\0';
    bool known = s[k] == '\0' || isspace((unsigned char)s[k]);
    for (size_t i = 0; known && i < sizeof instructions / sizeof instructions[0]; i++)
        if (strcmp(in.keyword, instructions[i]) == 0)
            goto found;
    size_t w = strcspn(s, " \t");
    return fail(p, line,
                "unknown instruction %.*s (a misspelt keyword, or the line above does not end "
                "with %c to continue onto this one)",
                (int)(w > 40 ? 40 : w), s, p->escape);
found:;
    const char *args = skip_space(s + k);
    if (p->df->n_stages == 0 && strcmp(in.keyword, "FROM") != 0 && strcmp(in.keyword, "ARG") != 0)
        return fail(p, line, "%s before the first FROM: only ARG may come before it", in.keyword);
    struct buf full = BUF_INIT;
    int rc = buf_puts(&full, args);
    if (rc == 0 && (strcmp(in.keyword, "RUN") == 0 || strcmp(in.keyword, "COPY") == 0 ||
                    strcmp(in.keyword, "ADD") == 0))
        rc = read_heredocs(p, args, line, &full);
    if (rc == 0 && strcmp(in.keyword, "FROM") == 0) {
        rc = add_stage(p, args, line);
        in.stage = (int)p->df->n_stages - 1;
    }
    if (rc == 0) {
        in.args = buf_steal(&full, NULL);
        if (!in.args)
            in.args = strdup("");
        rc = in.args ? push_instr(p->df, &in) : ERR_NOMEM;
        if (rc != 0)
            free(in.args);
    }
    buf_free(&full);
    if (rc == 0 && in.stage >= 0)
        p->df->stages[in.stage].count++;
    return rc;
}

static int parse(struct parser *p)
{
    struct buf logical = BUF_INIT;
    bool directives = true, open = false;
    int start = 0, rc = 0;
    char *line;
    while ((line = next_line(p))) {
        const char *s = skip_space(line);
        char key[16], value[64];
        if (directives && directive(s, key, sizeof key, value, sizeof value)) {
            if (strcmp(key, "escape") == 0) {
                if (strcmp(value, "\\") != 0 && strcmp(value, "`") != 0) {
                    rc = fail(p, p->line, "# escape=%s: the escape character is \\ or `", value);
                    break;
                }
                p->escape = value[0];
            }
            continue;
        }
        directives = false;
        if (*s == '#' || *s == '\0')
            continue;
        if (!open) {
            buf_reset(&logical);
            start = p->line;
        }
        size_t n = strlen(line);
        while (n > 0 && isspace((unsigned char)line[n - 1]))
            n--;
        open = n > 0 && line[n - 1] == p->escape;
        if (buf_append(&logical, line, open ? n - 1 : n) != 0) {
            rc = ERR_NOMEM;
            break;
        }
        if (!open && (rc = add_instruction(p, logical.data ? logical.data : "", start)) != 0)
            break;
    }
    if (rc == 0 && open)
        rc = add_instruction(p, logical.data ? logical.data : "", start);
    if (rc == 0 && p->df->n_stages == 0) {
        snprintf(p->why, p->why_len, "%s: no FROM: a Dockerfile's first stage starts with FROM",
                 p->df->path);
        rc = ERR_MALFORMED;
    }
    buf_free(&logical);
    return rc;
}

int dockerfile_parse(const char *path, struct dockerfile **out, char *why, size_t why_len)
{
    *out = NULL;
    int rc = ERR_NOMEM;
    char *text = NULL;
    struct dockerfile *df = calloc(1, sizeof *df);
    if (!df)
        goto done;
    snprintf(df->path, sizeof df->path, "%s", path);
    errno = 0;
    text = tk_read_file(path, NULL);
    if (!text) {
        snprintf(why, why_len, "cannot read %s: %s", path, errno ? strerror(errno) : "no memory");
        rc = errno ? ERR_IO : ERR_NOMEM;
        goto done;
    }
    /* An editor's byte order mark is not part of the first instruction (the builder drops it). */
    char *start = strncmp(text, "\xEF\xBB\xBF", 3) == 0 ? text + 3 : text;
    struct parser p = {.df = df, .next = start, .escape = '\\', .why = why, .why_len = why_len};
    rc = parse(&p);
    if (rc == ERR_NOMEM)
        snprintf(why, why_len, "%s: out of memory", path);
done:
    free(text);
    if (rc == 0)
        *out = df;
    else
        dockerfile_free(df);
    return rc;
}

void dockerfile_free(struct dockerfile *df)
{
    if (!df)
        return;
    for (size_t i = 0; i < df->n_instrs; i++)
        free(df->instrs[i].args);
    free(df->instrs);
    free(df->stages);
    free(df);
}

const char *dockerfile_path(const struct dockerfile *df)
{
    return df->path;
}

size_t dockerfile_instr_count(const struct dockerfile *df)
{
    return df->n_instrs;
}

const struct dockerfile_instr *dockerfile_instr(const struct dockerfile *df, size_t i)
{
    return i < df->n_instrs ? &df->instrs[i] : NULL;
}

size_t dockerfile_stage_count(const struct dockerfile *df)
{
    return df->n_stages;
}

const struct dockerfile_stage *dockerfile_stage(const struct dockerfile *df, size_t i)
{
    return i < df->n_stages ? &df->stages[i] : NULL;
}

const struct dockerfile_stage *dockerfile_stage_find(const struct dockerfile *df, const char *ref)
{
    char *end;
    unsigned long i = strtoul(ref, &end, 10);
    if (*ref && *end == '\0' && isdigit((unsigned char)*ref))
        return i < df->n_stages ? &df->stages[i] : NULL;
    for (size_t s = 0; s < df->n_stages; s++)
        if (df->stages[s].name[0] && strcasecmp(df->stages[s].name, ref) == 0)
            return &df->stages[s];
    return NULL;
}

bool dockerfile_inherits(const struct dockerfile *df, const struct dockerfile_stage *s,
                         const struct dockerfile_stage *ancestor)
{
    for (; s; s = s->parent >= 0 ? &df->stages[s->parent] : NULL)
        if (s == ancestor)
            return true;
    return false;
}

size_t dockerfile_chain(const struct dockerfile *df, const struct dockerfile_stage *s,
                        const struct dockerfile_stage **out, size_t max)
{
    size_t n = 0;
    for (const struct dockerfile_stage *t = s; t;
         t = t->parent >= 0 ? &df->stages[t->parent] : NULL)
        n++;
    size_t i = n;
    for (const struct dockerfile_stage *t = s; t;
         t = t->parent >= 0 ? &df->stages[t->parent] : NULL)
        if (--i < max)
            out[i] = t;
    return n;
}

const struct dockerfile_instr *
dockerfile_last(const struct dockerfile *df, const struct dockerfile_stage *s, const char *keyword)
{
    for (; s; s = s->parent >= 0 ? &df->stages[s->parent] : NULL)
        for (size_t i = s->count; i-- > 0;)
            if (strcmp(df->instrs[s->first + i].keyword, keyword) == 0)
                return &df->instrs[s->first + i];
    return NULL;
}

/* ---- arguments ---- */

bool dockerfile_word(const char **p, char *word, size_t word_len)
{
    const char *s = skip_space(*p);
    size_t n = 0;
    char quote = '\0';
    if (!*s) {
        *p = s;
        return false;
    }
    for (; *s && (quote || (*s != ' ' && *s != '\t')); s++) {
        char c = *s;
        if (quote == '\'' && c == '\'') {
            quote = '\0';
            continue;
        }
        if (quote == '"' && c == '"') {
            quote = '\0';
            continue;
        }
        if (!quote && (c == '"' || c == '\'')) {
            quote = c;
            continue;
        }
        if (c == '\\' && quote != '\'' && s[1])
            c = *++s;
        if (n + 1 < word_len)
            word[n++] = c;
    }
    word[n] = '\0';
    *p = s;
    return true;
}

const char *dockerfile_skip_flags(const char *args)
{
    const char *s = skip_space(args);
    while (s[0] == '-' && s[1] == '-') {
        s += strcspn(s, " \t");
        s = skip_space(s);
    }
    return s;
}

bool dockerfile_flag(const char *args, const char *name, char *value, size_t value_len)
{
    const char *s = skip_space(args);
    size_t name_len = strlen(name);
    while (s[0] == '-' && s[1] == '-') {
        size_t w = strcspn(s, " \t");
        if (strncasecmp(s + 2, name, name_len) == 0 && s[2 + name_len] == '=') {
            size_t v = w - 3 - name_len;
            snprintf(value, value_len, "%.*s", (int)v, s + 3 + name_len);
            return true;
        }
        s = skip_space(s + w);
    }
    return false;
}

cJSON *dockerfile_exec_form(const char *text)
{
    const char *t = skip_space(text);
    if (*t != '[')
        return NULL;
    cJSON *a = cJSON_ParseWithOpts(t, NULL, true);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) == 0) {
        cJSON_Delete(a);
        return NULL;
    }
    const cJSON *item;
    cJSON_ArrayForEach(item, a)
    {
        if (!cJSON_IsString(item)) {
            cJSON_Delete(a);
            return NULL;
        }
    }
    return a;
}

size_t dockerfile_pairs(const struct dockerfile_instr *in, struct dockerfile_kv *out, size_t max)
{
    size_t n = 0;
    const char *p = in->args;
    char word[1200];
    bool env = strcmp(in->keyword, "ENV") == 0;
    const char *first = skip_space(p);
    size_t first_len = strcspn(first, " \t");
    if (env && !memchr(first, '=', first_len)) {
        /* ENV NAME value with spaces: the old form, one pair. */
        if (max > 0 && dockerfile_word(&p, word, sizeof word)) {
            snprintf(out[0].key, sizeof out[0].key, "%.127s", word);
            snprintf(out[0].value, sizeof out[0].value, "%s", skip_space(p));
            out[0].has_value = true;
            n = 1;
        }
        return n;
    }
    while (n < max && dockerfile_word(&p, word, sizeof word)) {
        char *eq = strchr(word, '=');
        if (eq)
            *eq = '\0';
        snprintf(out[n].key, sizeof out[n].key, "%.127s", word);
        snprintf(out[n].value, sizeof out[n].value, "%s", eq ? eq + 1 : "");
        out[n].has_value = eq != NULL;
        n++;
    }
    return n;
}

/* The value of $name at the end of stage s (NULL: only global ARGs), into out. */
static bool variable(const struct dockerfile *df, const struct dockerfile_stage *s,
                     const char *name, char *out, size_t out_len)
{
    struct dockerfile_kv kv[16];
    for (; s; s = s->parent >= 0 ? &df->stages[s->parent] : NULL)
        for (size_t i = s->count; i-- > 0;) {
            const struct dockerfile_instr *in = &df->instrs[s->first + i];
            if (strcmp(in->keyword, "ENV") != 0 && strcmp(in->keyword, "ARG") != 0)
                continue;
            size_t n = dockerfile_pairs(in, kv, 16);
            for (size_t k = n; k-- > 0;)
                if (strcmp(kv[k].key, name) == 0 && kv[k].has_value) {
                    snprintf(out, out_len, "%s", kv[k].value);
                    return true;
                }
        }
    for (size_t i = df->n_instrs; i-- > 0;) {
        const struct dockerfile_instr *in = &df->instrs[i];
        if (in->stage >= 0 || strcmp(in->keyword, "ARG") != 0)
            continue;
        size_t n = dockerfile_pairs(in, kv, 16);
        for (size_t k = n; k-- > 0;)
            if (strcmp(kv[k].key, name) == 0 && kv[k].has_value) {
                snprintf(out, out_len, "%s", kv[k].value);
                return true;
            }
    }
    return false;
}

bool dockerfile_expand(const struct dockerfile *df, const struct dockerfile_stage *s,
                       const char *text, char *out, size_t out_len)
{
    struct buf b = BUF_INIT;
    bool all = true;
    for (const char *t = text; *t;) {
        if (*t != '$') {
            buf_putc(&b, *t++);
            continue;
        }
        char name[128], fallback[256] = "", value[1024];
        bool braced = t[1] == '{', has_fallback = false;
        const char *n = t + (braced ? 2 : 1);
        size_t len = 0;
        while ((isalnum((unsigned char)n[len]) || n[len] == '_') && len + 1 < sizeof name)
            len++;
        snprintf(name, sizeof name, "%.*s", (int)len, n);
        const char *end = n + len;
        if (braced) {
            if (end[0] == ':' && end[1] == '-') {
                size_t f = strcspn(end + 2, "}");
                snprintf(fallback, sizeof fallback, "%.*s", (int)f, end + 2);
                has_fallback = true;
                end += 2 + f;
            }
            if (*end == '}')
                end++;
        }
        if (len == 0) {
            buf_putc(&b, *t++);
            continue;
        }
        if (variable(df, s, name, value, sizeof value) && (value[0] || !has_fallback))
            buf_puts(&b, value);
        else if (has_fallback)
            buf_puts(&b, fallback);
        else
            all = false;
        t = end;
    }
    all = all && !b.failed;
    snprintf(out, out_len, "%s", b.data ? b.data : "");
    buf_free(&b);
    return all;
}
