/* json.c — strict JSON parsing in two passes: our grammar check, then cJSON's tree (json.h).
 *
 * Pass one is a small recursive-descent validator of RFC 8259 that cJSON alone would not give
 * us: strict number grammar, no raw control characters in strings, no BOM, valid UTF-8, bounded
 * depth. It also finds the two escapes API.md treats as a rule broken on a field rather than a
 * syntax error — "\u0000" and an unpaired surrogate — and overwrites them in a private copy with
 * "\uFFFD" (same length), so cJSON can build the tree and the validator can still report every
 * other broken rule in the same answer. Pass two is cJSON on that copy. */
#include "json.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "field_errors.h"
#include "utf8.h"

#define FIELD_NAME_MAX 128

struct scan {
    char *s; /* private, mutable copy of the body */
    size_t n, i;
    int depth;
    struct field_errors *errs;
    const char *why;
    int rc;
    char field[FIELD_NAME_MAX]; /* top-level member whose value is being scanned, or "" */
};

static int fail(struct scan *sc, const char *why)
{
    if (sc->rc == 0) {
        sc->rc = ERR_MALFORMED;
        sc->why = why;
    }
    return sc->rc;
}

static void skip_ws(struct scan *sc)
{
    while (sc->i < sc->n) {
        char c = sc->s[sc->i];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        sc->i++;
    }
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* A "\u0000" or unpaired surrogate at s[at..at+6): note it on the current field and defuse it. */
static int bad_escape(struct scan *sc, size_t at, const char *message)
{
    memcpy(sc->s + at, "\\uFFFD", 6);
    if (sc->errs && !field_errors_has(sc->errs, sc->field))
        if (field_errors_add(sc->errs, sc->field, message) != 0)
            sc->rc = ERR_NOMEM;
    return sc->rc;
}

/* Scans a string starting at its opening quote. When name is non-NULL, copies the raw text
 * (escapes and all) into it, truncated: field names in the API are plain ASCII. */
static int scan_string(struct scan *sc, char *name, size_t name_len)
{
    size_t start = ++sc->i; /* past the opening quote */
    while (sc->i < sc->n) {
        unsigned char c = (unsigned char)sc->s[sc->i];
        if (c == '"') {
            if (name) {
                size_t len = sc->i - start;
                if (len >= name_len)
                    len = name_len - 1;
                memcpy(name, sc->s + start, len);
                name[len] = '\0';
            }
            sc->i++;
            return 0;
        }
        if (c < 0x20)
            return fail(sc, "a control character inside a string must be escaped");
        if (c != '\\') {
            sc->i++;
            continue;
        }
        if (sc->i + 1 >= sc->n)
            return fail(sc, "unterminated string");
        char e = sc->s[sc->i + 1];
        if (strchr("\"\\/bfnrt", e)) {
            sc->i += 2;
            continue;
        }
        if (e != 'u')
            return fail(sc, "invalid escape in a string");
        unsigned u;
        if (sc->i + 6 > sc->n || hex4(sc->s + sc->i + 2, &u) != 0)
            return fail(sc, "invalid \\u escape in a string");
        size_t at = sc->i;
        sc->i += 6;
        if (u == 0) {
            if (bad_escape(sc, at, "must not contain U+0000") != 0)
                return sc->rc;
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
            if (bad_escape(sc, at, "contains an unpaired UTF-16 surrogate") != 0)
                return sc->rc;
        } else if (u >= 0xD800 && u <= 0xDBFF) {
            unsigned lo;
            if (sc->i + 6 <= sc->n && sc->s[sc->i] == '\\' && sc->s[sc->i + 1] == 'u' &&
                hex4(sc->s + sc->i + 2, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                sc->i += 6; /* a proper pair */
            } else if (bad_escape(sc, at, "contains an unpaired UTF-16 surrogate") != 0) {
                return sc->rc;
            }
        }
    }
    return fail(sc, "unterminated string");
}

static int scan_number(struct scan *sc)
{
    size_t i = sc->i;
    const char *s = sc->s;
    if (i < sc->n && s[i] == '-')
        i++;
    if (i < sc->n && s[i] == '0') {
        i++;
    } else if (i < sc->n && s[i] >= '1' && s[i] <= '9') {
        while (i < sc->n && s[i] >= '0' && s[i] <= '9')
            i++;
    } else {
        return fail(sc, "invalid value (NaN, Infinity and bare words are not JSON)");
    }
    if (i < sc->n && s[i] == '.') {
        i++;
        if (i >= sc->n || s[i] < '0' || s[i] > '9')
            return fail(sc, "invalid number");
        while (i < sc->n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    if (i < sc->n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < sc->n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (i >= sc->n || s[i] < '0' || s[i] > '9')
            return fail(sc, "invalid number");
        while (i < sc->n && s[i] >= '0' && s[i] <= '9')
            i++;
    }
    sc->i = i;
    return 0;
}

static int scan_value(struct scan *sc);

static int scan_container(struct scan *sc, char close)
{
    if (++sc->depth > JSON_MAX_DEPTH)
        return fail(sc, "JSON nested deeper than 32 levels");
    bool top_object = close == '}' && sc->depth == 1;
    sc->i++; /* past the opening bracket */
    skip_ws(sc);
    if (sc->i < sc->n && sc->s[sc->i] == close) {
        sc->i++;
        sc->depth--;
        return 0;
    }
    for (;;) {
        skip_ws(sc);
        if (close == '}') {
            if (sc->i >= sc->n || sc->s[sc->i] != '"')
                return fail(sc, "expected a string key in an object");
            char key[FIELD_NAME_MAX];
            if (scan_string(sc, key, sizeof key) != 0)
                return sc->rc;
            if (top_object)
                memcpy(sc->field, key, sizeof key);
            skip_ws(sc);
            if (sc->i >= sc->n || sc->s[sc->i] != ':')
                return fail(sc, "expected ':' after an object key");
            sc->i++;
        }
        if (scan_value(sc) != 0)
            return sc->rc;
        skip_ws(sc);
        if (sc->i >= sc->n)
            return fail(sc, "unexpected end of JSON");
        char c = sc->s[sc->i++];
        if (c == close)
            break;
        if (c != ',')
            return fail(sc, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    if (top_object)
        sc->field[0] = '\0';
    sc->depth--;
    return 0;
}

static int scan_value(struct scan *sc)
{
    skip_ws(sc);
    if (sc->i >= sc->n)
        return fail(sc, "unexpected end of JSON");
    char c = sc->s[sc->i];
    switch (c) {
    case '{':
        return scan_container(sc, '}');
    case '[':
        return scan_container(sc, ']');
    case '"':
        return scan_string(sc, NULL, 0);
    case 't':
    case 'f':
    case 'n': {
        const char *word = c == 't' ? "true" : c == 'f' ? "false" : "null";
        size_t len = strlen(word);
        if (sc->n - sc->i < len || memcmp(sc->s + sc->i, word, len) != 0)
            return fail(sc, "invalid value (NaN, Infinity and bare words are not JSON)");
        sc->i += len;
        return 0;
    }
    default:
        return scan_number(sc);
    }
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp((*(const cJSON *const *)a)->string, (*(const cJSON *const *)b)->string);
}

/* Duplicate keys of the top-level object, found by sorting the names: O(n log n) however many
 * members a hostile body has. */
static int check_duplicates(const cJSON *obj, struct field_errors *errs)
{
    size_t n = json_child_count(obj);
    if (n < 2 || !errs)
        return 0;
    const cJSON **items = malloc(n * sizeof *items);
    if (!items)
        return ERR_NOMEM;
    size_t k = 0;
    for (const cJSON *c = obj->child; c; c = c->next)
        items[k++] = c;
    qsort(items, n, sizeof *items, name_cmp);
    int rc = 0;
    for (size_t i = 1; i < n && rc == 0; i++)
        if (strcmp(items[i]->string, items[i - 1]->string) == 0 &&
            !field_errors_has(errs, items[i]->string))
            rc = field_errors_add(errs, items[i]->string, "is given more than once");
    free(items);
    return rc;
}

int json_parse_strict(const char *body, size_t len, cJSON **out, struct field_errors *errs,
                      const char **why)
{
    *out = NULL;
    *why = NULL;
    if (len >= 3 && memcmp(body, "\xEF\xBB\xBF", 3) == 0) {
        *why = "a byte order mark is not allowed before JSON";
        return ERR_MALFORMED;
    }
    if (!utf8_valid(body, len)) {
        *why = "the body is not valid UTF-8";
        return ERR_MALFORMED;
    }
    struct scan sc = {.n = len, .errs = errs};
    sc.s = malloc(len + 1);
    if (!sc.s)
        return ERR_NOMEM;
    memcpy(sc.s, body, len);
    sc.s[len] = '\0';

    if (len == 0)
        fail(&sc, "the body is empty");
    else if (scan_value(&sc) == 0) {
        skip_ws(&sc);
        if (sc.i != sc.n)
            fail(&sc, "unexpected data after the JSON value");
    }
    int rc = sc.rc;
    if (rc != 0) {
        *why = sc.why;
        goto done;
    }
    cJSON *tree = cJSON_ParseWithLength(sc.s, len);
    if (!tree) {
        /* Our grammar accepted it, so cJSON can only have run out of memory. */
        rc = ERR_NOMEM;
        goto done;
    }
    if (cJSON_IsObject(tree) && (rc = check_duplicates(tree, errs)) != 0) {
        cJSON_Delete(tree);
        goto done;
    }
    *out = tree;
done:
    free(sc.s);
    return rc;
}

int json_render(const cJSON *item, struct buf *b)
{
    char *s = cJSON_PrintUnformatted(item);
    if (!s)
        return ERR_NOMEM;
    int rc = buf_puts(b, s);
    cJSON_free(s);
    return rc;
}

size_t json_child_count(const cJSON *item)
{
    size_t n = 0;
    for (const cJSON *c = item ? item->child : NULL; c; c = c->next)
        n++;
    return n;
}
