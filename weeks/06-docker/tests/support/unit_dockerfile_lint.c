/* unit_dockerfile_lint.c — week 6's rules for the Dockerfile and .dockerignore (see the header).
 *
 * Each message says where (path:line of the instruction, or of the stage's FROM when something
 * is missing), what happens because of it when the image is built or run, and the line to write.
 * The examples are this course's own (taskd-probe, uid 10001, ${BASE}), so a learner can copy
 * them. Secrets are never echoed: a message names the variable, not its value. */
#include "unit_dockerfile_lint.h"

#include <ctype.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "testkit.h"

#define CHAIN_MAX 32

/* The stages compose.yaml ships, and the program each one runs (for the examples). */
static const struct {
    const char *target, *program, *probe;
} shipped[] = {
    {"taskd", "taskd", "[\"taskd-probe\", \"http\", \"8080\", \"/ready\"]"},
    {"worker", "taskd-worker", "[\"taskd-probe\", \"file\", \"/tmp/taskd-worker.health\", \"15\"]"},
};
#define N_SHIPPED (sizeof shipped / sizeof shipped[0])

static bool is(const struct dockerfile_instr *in, const char *keyword)
{
    return strcmp(in->keyword, keyword) == 0;
}

/* The shipped target's stage, or a problem saying compose.yaml cannot build it. */
static const struct dockerfile_stage *target(const struct dockerfile *df, size_t i, struct lint *l)
{
    const struct dockerfile_stage *s = dockerfile_stage_find(df, shipped[i].target);
    if (!s)
        lint_add(l,
                 "%s: no stage named %s: compose.yaml builds it (`target: %s`) and ships it; "
                 "start it with `FROM runtime AS %s` (or FROM another stage of yours)",
                 dockerfile_path(df), shipped[i].target, shipped[i].target, shipped[i].target);
    return s;
}

/* A stage's name for a message: its AS name, or "stage N" (from 0, as COPY --from= counts). */
static const char *stage_name(const struct dockerfile *df, const struct dockerfile_stage *s,
                              char *buf, size_t len)
{
    if (s->name[0])
        return s->name;
    for (size_t i = 0; i < dockerfile_stage_count(df); i++)
        if (dockerfile_stage(df, i) == s)
            snprintf(buf, len, "stage %zu", i);
    return buf;
}

/* The first word of a RUN that installs a toolchain (gcc, g++, cc, clang, build-essential, a
 * -dev package) into word; false when there is none. */
static bool toolchain_word(const char *run, char *word, size_t len)
{
    static const char *const tools[] = {"gcc", "g++", "cc", "clang", "build-essential"};
    const char *s = run;
    while (*s) {
        s += strspn(s, " \t\n;&|()\\\"'");
        size_t n = strcspn(s, " \t\n;&|()\\\"'");
        if (n == 0)
            break;
        snprintf(word, len, "%.*s", (int)n, s);
        s += n;
        for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++)
            if (strcmp(word, tools[i]) == 0)
                return true;
        if (n > 4 && word[0] != '-' && strcmp(word + n - 4, "-dev") == 0)
            return true;
    }
    return false;
}

/* The stage COPY --from=ref names, when it is one of this file's and not one s is built on. */
static const struct dockerfile_stage *copied_from(const struct dockerfile *df,
                                                  const struct dockerfile_stage *s,
                                                  const struct dockerfile_instr *in)
{
    char ref[64];
    if (!is(in, "COPY") || !dockerfile_flag(in->args, "from", ref, sizeof ref))
        return NULL;
    const struct dockerfile_stage *from = dockerfile_stage_find(df, ref);
    return from && !dockerfile_inherits(df, s, from) ? from : NULL;
}

void lint_dockerfile_multi_stage(const struct dockerfile *df, struct lint *l)
{
    const char *path = dockerfile_path(df);
    if (dockerfile_stage_count(df) < 2) {
        lint_add(l,
                 "%s:%d: one stage only: the image that runs taskd would carry the compiler, "
                 "the -dev packages and the sources (hundreds of MB, and tools for whoever breaks "
                 "in). Compile in a first stage (`FROM ${BASE} AS build`) and start the shipped "
                 "targets from a clean one, copying in only the programs "
                 "(`COPY --from=build /out/taskd /usr/local/bin/`)",
                 path, dockerfile_stage(df, 0)->line);
        return;
    }
    for (size_t t = 0; t < N_SHIPPED; t++) {
        const struct dockerfile_stage *s = target(df, t, l), *chain[CHAIN_MAX];
        if (!s)
            continue;
        size_t n = dockerfile_chain(df, s, chain, CHAIN_MAX);
        bool copied = false, tools = false;
        for (size_t c = 0; c < n && c < CHAIN_MAX; c++)
            for (size_t i = 0; i < chain[c]->count; i++) {
                const struct dockerfile_instr *in = dockerfile_instr(df, chain[c]->first + i);
                char word[64], name[32];
                copied = copied || copied_from(df, s, in);
                if (!tools && is(in, "RUN") && toolchain_word(in->args, word, sizeof word)) {
                    tools = true;
                    lint_add(l,
                             "%s:%d: this RUN (stage %s) installs %s, and the target %s is built "
                             "on that stage: the toolchain ships in %s's image. Compile in a "
                             "stage of its own, start %s FROM a stage without it (the runtime) "
                             "and copy in only the programs (COPY --from=build ...)",
                             path, in->line, stage_name(df, chain[c], name, sizeof name), word,
                             shipped[t].target, shipped[t].target, shipped[t].target);
                }
            }
        if (!copied)
            lint_add(l,
                     "%s:%d: the stage %s copies nothing from another stage: no `COPY --from=` "
                     "brings in the programs the build stage compiled. Add "
                     "`COPY --from=build /out/%s /usr/local/bin/` (with your build stage's name "
                     "and paths)",
                     path, s->line, shipped[t].target, shipped[t].program);
    }
}

/* Is user (the part of USER before any :group, expanded) root? */
static bool root_user(const char *user)
{
    if (strcmp(user, "root") == 0)
        return true;
    size_t digits = strspn(user, "0123456789");
    return digits > 0 && user[digits] == '\0' && strtol(user, NULL, 10) == 0;
}

void lint_dockerfile_non_root(const struct dockerfile *df, struct lint *l)
{
    const char *path = dockerfile_path(df);
    for (size_t t = 0; t < N_SHIPPED; t++) {
        const struct dockerfile_stage *s = target(df, t, l);
        if (!s)
            continue;
        const struct dockerfile_instr *in = dockerfile_last(df, s, "USER");
        char value[256];
        if (!in) {
            lint_add(l,
                     "%s:%d: %s runs as root: neither it nor a stage it is built FROM sets USER, "
                     "so its process keeps the base image's user, root, and whoever breaks into "
                     "it owns the container. Create an unprivileged user in the runtime stage "
                     "(useradd --uid 10001 ...) and end %s with `USER 10001:10001`",
                     path, s->line, shipped[t].target, shipped[t].target);
            continue;
        }
        if (!dockerfile_expand(df, s, in->args, value, sizeof value)) {
            lint_add(l,
                     "%s:%d: USER %s: a variable there has no value this file gives it, so "
                     "nobody can tell which user runs %s: write the uid (USER 10001:10001)",
                     path, in->line, in->args, shipped[t].target);
            continue;
        }
        value[strcspn(value, ":")] = '\0';
        if (value[0] == '\0' || root_user(value))
            lint_add(l,
                     "%s:%d: USER %s is root (uid 0), and %s ends with it: its process would have "
                     "every power in the container. End %s with the unprivileged user the "
                     "runtime stage creates: `USER 10001:10001`",
                     path, in->line, in->args, shipped[t].target, shipped[t].target);
    }
}

/* Why text (after CMD or ENTRYPOINT) is not the exec form, for a message. */
static const char *not_exec_form(const char *text)
{
    const char *t = text + strspn(text, " \t");
    return *t == '[' ? "looks like a JSON array but is not valid JSON (strings in double quotes, "
                       "separated by commas), so the builder takes it as the shell form: it runs "
                       "/bin/sh -c with that text"
                     : "is the shell form: the builder runs it as /bin/sh -c '...'";
}

void lint_dockerfile_healthcheck(const struct dockerfile *df, struct lint *l)
{
    const char *path = dockerfile_path(df);
    for (size_t t = 0; t < N_SHIPPED; t++) {
        const struct dockerfile_stage *s = target(df, t, l);
        if (!s)
            continue;
        const struct dockerfile_instr *in = dockerfile_last(df, s, "HEALTHCHECK");
        const char *rest = in ? dockerfile_skip_flags(in->args) : "";
        char word[16] = "";
        const char *after = rest;
        if (in)
            dockerfile_word(&after, word, sizeof word);
        if (!in || strcasecmp(word, "NONE") == 0) {
            lint_add(l,
                     "%s:%d: %s has %s: Docker calls its container running even when it cannot "
                     "serve, and compose.yaml's `condition: service_healthy` has nothing to wait "
                     "for. Add one in exec form: "
                     "`HEALTHCHECK --interval=5s --timeout=3s --retries=3 CMD %s`",
                     path, in ? in->line : s->line, shipped[t].target,
                     in ? "HEALTHCHECK NONE, which switches the check off" : "no HEALTHCHECK",
                     shipped[t].probe);
            continue;
        }
        if (strcasecmp(word, "CMD") != 0) {
            lint_add(l, "%s:%d: HEALTHCHECK %s: after the options comes CMD [...] (or NONE)", path,
                     in->line, rest);
            continue;
        }
        cJSON *argv = dockerfile_exec_form(after);
        if (!argv)
            lint_add(l,
                     "%s:%d: %s's HEALTHCHECK CMD %s: the image then needs a shell, and the "
                     "check's result is the shell's. Write it as a JSON array: CMD %s",
                     path, in->line, shipped[t].target, not_exec_form(after), shipped[t].probe);
        cJSON_Delete(argv);
    }
}

/* What is wrong with an image reference's pin, or NULL when it has a tag that is not latest or
 * a digest. */
static const char *unpinned(const char *ref)
{
    const char *at = strchr(ref, '@');
    if (at)
        return strchr(at, ':') ? NULL : "has an @ but no digest after it (@sha256:...)";
    const char *slash = strrchr(ref, '/');
    const char *colon = strrchr(slash ? slash + 1 : ref, ':');
    if (!colon)
        return "has no tag, so it means :latest";
    if (colon[1] == '\0')
        return "has an empty tag";
    if (strcmp(colon + 1, "latest") == 0)
        return "is :latest";
    return NULL;
}

void lint_dockerfile_pinned_base(const struct dockerfile *df, struct lint *l)
{
    const char *path = dockerfile_path(df);
    const struct dockerfile_instr *base = NULL, *late = NULL;
    struct dockerfile_kv kv[16];
    for (size_t i = 0; i < dockerfile_instr_count(df); i++) {
        const struct dockerfile_instr *in = dockerfile_instr(df, i);
        if (!is(in, "ARG"))
            continue;
        size_t n = dockerfile_pairs(in, kv, 16);
        for (size_t k = 0; k < n; k++)
            if (strcmp(kv[k].key, "BASE") == 0 && kv[k].has_value) {
                if (in->stage < 0)
                    base = in;
                else if (!late)
                    late = in;
            } else if (strcmp(kv[k].key, "BASE") == 0 && in->stage < 0) {
                lint_add(l,
                         "%s:%d: ARG BASE has no default: a plain `docker build` fails (FROM an "
                         "empty name). Give it a pinned one: ARG BASE=debian:bookworm-slim",
                         path, in->line);
                base = in;
            }
    }
    if (!base)
        lint_add(l,
                 "%s:%d: no `ARG BASE=...` before the first FROM%s: the base image must be a "
                 "build argument, so that one file builds on Docker Hub's debian:bookworm-slim "
                 "and on the local image here (--build-arg BASE=...). Put "
                 "`ARG BASE=debian:bookworm-slim` above the first FROM and write FROM ${BASE}",
                 path, dockerfile_stage(df, 0)->line,
                 late ? " (the ARG BASE after it belongs to one stage, and FROM lines do not see "
                        "it)"
                      : "");
    for (size_t k = 0, n = base ? dockerfile_pairs(base, kv, 16) : 0; k < n; k++) {
        const char *why =
            strcmp(kv[k].key, "BASE") == 0 && kv[k].has_value ? unpinned(kv[k].value) : NULL;
        if (why)
            lint_add(l,
                     "%s:%d: ARG BASE=%s %s: the image is whatever the registry calls that the "
                     "day you build, and a new release arrives unannounced under the same "
                     "Dockerfile. Pin a release (debian:bookworm-slim) or one exact image "
                     "(debian:bookworm-slim@sha256:...)",
                     path, base->line, kv[k].value, why);
    }
    for (size_t i = 0; i < dockerfile_stage_count(df); i++) {
        const struct dockerfile_stage *s = dockerfile_stage(df, i);
        if (s->parent >= 0 || strcmp(s->image, "${BASE}") == 0 || strcmp(s->image, "$BASE") == 0 ||
            strcasecmp(s->image, "scratch") == 0)
            continue;
        lint_add(l,
                 "%s:%d: FROM %s%s: every stage starts FROM ${BASE} or an earlier stage, so that "
                 "the one pinned argument decides every image's base (--build-arg BASE=... would "
                 "not reach this one)",
                 path, s->line, s->image,
                 dockerfile_stage_find(df, s->image) ? " names a stage defined further down" : "");
    }
}

void lint_dockerfile_no_secrets(const struct dockerfile *df, struct lint *l)
{
    const char *path = dockerfile_path(df);
    struct dockerfile_kv kv[16];
    for (size_t i = 0; i < dockerfile_instr_count(df); i++) {
        const struct dockerfile_instr *in = dockerfile_instr(df, i);
        if (!is(in, "ENV") && !is(in, "ARG"))
            continue;
        const char *seen = is(in, "ENV") ? "anyone who has the image reads it (docker inspect "
                                           "shows the environment)"
                                         : "build arguments are written into the image's history "
                                           "(docker history --no-trunc shows them)";
        size_t n = dockerfile_pairs(in, kv, 16);
        for (size_t k = 0; k < n; k++) {
            if (lint_secret_name(kv[k].key))
                lint_add(l,
                         "%s:%d: %s %s is a secret in the image: %s. Secrets reach the container "
                         "when it runs, as files (Compose's secrets:), and the program reads "
                         "%s_FILE=/run/secrets/NAME instead",
                         path, in->line, in->keyword, kv[k].key, seen, kv[k].key);
            else if (lint_url_password(kv[k].value))
                lint_add(l,
                         "%s:%d: %s %s holds a URL with user:password@ in it: %s. Put the URL in "
                         "a secret file and set %s_FILE=/run/secrets/NAME instead",
                         path, in->line, in->keyword, kv[k].key, seen, kv[k].key);
        }
    }
}

/* The build stage: the one taskd copies its programs from (else one named build), or NULL. */
static const struct dockerfile_stage *build_stage(const struct dockerfile *df)
{
    const struct dockerfile_stage *s = dockerfile_stage_find(df, shipped[0].target),
                                  *chain[CHAIN_MAX];
    size_t n = s ? dockerfile_chain(df, s, chain, CHAIN_MAX) : 0;
    for (size_t c = 0; c < n && c < CHAIN_MAX; c++)
        for (size_t i = 0; i < chain[c]->count; i++) {
            const struct dockerfile_stage *from =
                copied_from(df, s, dockerfile_instr(df, chain[c]->first + i));
            if (from)
                return from;
        }
    return dockerfile_stage_find(df, "build");
}

/* Does a RUN install packages (apt-get/apt/dnf/yum/microdnf/zypper install, apk add)? */
static bool installs_packages(const char *run)
{
    static const char *const managers[] = {"apt-get", "apt", "dnf", "yum", "microdnf", "zypper"};
    bool manager = false, apk = false;
    char word[256];
    for (const char *p = run; dockerfile_word(&p, word, sizeof word);) {
        if (strcmp(word, "&&") == 0 || strcmp(word, ";") == 0 || strcmp(word, "||") == 0)
            manager = apk = false;
        for (size_t i = 0; i < sizeof managers / sizeof managers[0]; i++)
            manager = manager || strcmp(word, managers[i]) == 0;
        apk = apk || strcmp(word, "apk") == 0;
        if ((manager && strcmp(word, "install") == 0) || (apk && strcmp(word, "add") == 0))
            return true;
    }
    return false;
}

/* What a COPY's sources are: build files (Makefile, *.mk) and/or sources (weeks/, shared/, or
 * everything: `.`, `*`). */
static void copy_sources(const struct dockerfile_instr *in, bool *build_files, bool *sources)
{
    char words[16][256];
    size_t n = 0;
    const char *rest = dockerfile_skip_flags(in->args);
    cJSON *json = dockerfile_exec_form(rest);
    const cJSON *item;
    if (json) {
        cJSON_ArrayForEach(item, json)
        {
            if (n < 16)
                snprintf(words[n++], 256, "%s", item->valuestring);
        }
        cJSON_Delete(json);
    } else {
        while (n < 16 && dockerfile_word(&rest, words[n], 256))
            n++;
    }
    *build_files = *sources = false;
    for (size_t i = 0; i + 1 < n; i++) { /* the last word is the destination */
        char *w = words[i];
        while (w[0] == '.' && w[1] == '/')
            w += 2;
        size_t len = strlen(w);
        while (len > 1 && w[len - 1] == '/')
            w[--len] = '\0';
        const char *base = strrchr(w, '/') ? strrchr(w, '/') + 1 : w;
        bool everything = strcmp(w, ".") == 0 || strcmp(w, "*") == 0 || len == 0;
        if (everything || strcmp(base, "Makefile") == 0 || strcmp(base, "GNUmakefile") == 0 ||
            fnmatch("*.mk", base, 0) == 0)
            *build_files = true;
        if (everything || strncmp(w, "weeks", 5) == 0 || strncmp(w, "shared", 6) == 0)
            *sources = true;
    }
}

void lint_dockerfile_layer_order(const struct dockerfile *df, struct lint *l)
{
    const char *path = dockerfile_path(df);
    const struct dockerfile_stage *b = build_stage(df), *chain[CHAIN_MAX];
    if (!b) {
        lint_add(l,
                 "%s: no build stage: taskd copies its programs from no stage (COPY --from=) and "
                 "none is named build, so there is no layer order to judge (see the multi-stage "
                 "test)",
                 path);
        return;
    }
    char name[32];
    stage_name(df, b, name, sizeof name);
    int install = 0, first_copy = 0, build_files = 0, sources = 0;
    size_t n = dockerfile_chain(df, b, chain, CHAIN_MAX);
    for (size_t c = 0; c < n && c < CHAIN_MAX; c++)
        for (size_t i = 0; i < chain[c]->count; i++) {
            const struct dockerfile_instr *in = dockerfile_instr(df, chain[c]->first + i);
            char ref[64];
            if (is(in, "RUN") && !install && installs_packages(in->args))
                install = in->line;
            if (!(is(in, "COPY") || is(in, "ADD")) ||
                dockerfile_flag(in->args, "from", ref, sizeof ref))
                continue;
            bool has_build, has_sources;
            copy_sources(in, &has_build, &has_sources);
            if (!first_copy)
                first_copy = in->line;
            if (has_build && !build_files)
                build_files = in->line;
            if (has_sources && !sources)
                sources = in->line;
        }
    if (!install)
        lint_add(l,
                 "%s:%d: the build stage %s installs no packages (no RUN apt-get install ...): "
                 "the compiler and the -dev libraries must come from somewhere, in a layer of "
                 "their own before any COPY",
                 path, b->line, name);
    else if (first_copy && first_copy < install)
        lint_add(l,
                 "%s:%d: a COPY before the package install (line %d): when copied files change, "
                 "the cache of every later layer is thrown away, so each edit re-runs apt-get "
                 "(minutes, and the network). Install the packages first, then copy",
                 path, first_copy, install);
    if (!sources)
        lint_add(l,
                 "%s:%d: the build stage %s copies no sources (COPY weeks/ weeks/, COPY shared/ "
                 "shared/)",
                 path, b->line, name);
    else if (build_files == sources)
        lint_add(l,
                 "%s:%d: this COPY brings the build files and the sources in one layer: any "
                 "edit of a .c file invalidates it and everything after. Copy what changes "
                 "rarest first: COPY Makefile ./, then COPY shared/ shared/ and COPY weeks/ weeks/",
                 path, sources);
    else if (!build_files || build_files > sources)
        lint_add(l,
                 "%s:%d: the sources are copied before the build files (%s): order the COPYs by "
                 "how often their files change, rarest first, so that an edit of a .c file "
                 "rebuilds only the layers from the sources on: COPY Makefile ./, then "
                 "COPY shared/ shared/ and COPY weeks/ weeks/",
                 path, sources, build_files ? "Makefile comes later" : "no COPY of the Makefile");
}

void lint_dockerfile_stop_signal(const struct dockerfile *df, struct lint *l)
{
    const char *path = dockerfile_path(df);
    for (size_t t = 0; t < N_SHIPPED; t++) {
        const struct dockerfile_stage *s = target(df, t, l);
        if (!s)
            continue;
        const struct dockerfile_instr *in = dockerfile_last(df, s, "STOPSIGNAL");
        if (!in)
            lint_add(l,
                     "%s:%d: %s has no STOPSIGNAL: say which signal stops it gracefully, "
                     "`STOPSIGNAL SIGTERM`: docker stop sends it, %s finishes the requests under "
                     "way and exits 0, and SIGKILL comes only after the grace period",
                     path, s->line, shipped[t].target, shipped[t].program);
        else if (strcasecmp(in->args, "SIGKILL") == 0 || strcasecmp(in->args, "KILL") == 0 ||
                 strcmp(in->args, "9") == 0)
            lint_add(l,
                     "%s:%d: STOPSIGNAL %s cannot be caught: %s would die in the middle of its "
                     "requests. Use SIGTERM",
                     path, in->line, in->args, shipped[t].program);
    }
}

void lint_dockerfile_exec_entrypoint(const struct dockerfile *df, struct lint *l)
{
    static const char *const shells[] = {"sh", "bash", "dash", "ash"};
    const char *path = dockerfile_path(df);
    for (size_t t = 0; t < N_SHIPPED; t++) {
        const struct dockerfile_stage *s = target(df, t, l);
        if (!s)
            continue;
        const struct dockerfile_instr *in = dockerfile_last(df, s, "ENTRYPOINT");
        if (!in) {
            lint_add(l,
                     "%s:%d: %s has no ENTRYPOINT: name its program in exec form, "
                     "`ENTRYPOINT [\"%s\"]`, so that it is PID 1 and gets docker stop's SIGTERM "
                     "itself",
                     path, s->line, shipped[t].target, shipped[t].program);
            continue;
        }
        cJSON *argv = dockerfile_exec_form(in->args);
        if (!argv) {
            lint_add(l,
                     "%s:%d: ENTRYPOINT %s: then /bin/sh is PID 1, and a shell does not pass "
                     "docker stop's SIGTERM on: %s is killed after the grace period, in the "
                     "middle of its requests. Write `ENTRYPOINT [\"%s\"]`",
                     path, in->line, not_exec_form(in->args), shipped[t].program,
                     shipped[t].program);
            continue;
        }
        const char *prog = cJSON_GetArrayItem(argv, 0)->valuestring;
        const char *base = strrchr(prog, '/') ? strrchr(prog, '/') + 1 : prog;
        for (size_t i = 0; i < sizeof shells / sizeof shells[0]; i++)
            if (strcmp(base, shells[i]) == 0)
                lint_add(l,
                         "%s:%d: ENTRYPOINT runs %s: a shell is PID 1, and it does not pass "
                         "docker stop's SIGTERM on to %s. Start the program itself: "
                         "`ENTRYPOINT [\"%s\"]` (or end the script with exec)",
                         path, in->line, prog, shipped[t].program, shipped[t].program);
        cJSON_Delete(argv);
    }
}

/* ---- .dockerignore ---- */

/* Does pattern (segments split by /, ** for any number of them) match the whole of path? */
static bool match_segments(const char *pat, const char *path)
{
    const char *pend = strchr(pat, '/');
    size_t plen = pend ? (size_t)(pend - pat) : strlen(pat);
    const char *prest = pend ? pend + 1 : "";
    if (plen == 2 && pat[0] == '*' && pat[1] == '*') {
        if (*prest == '\0' || match_segments(prest, path))
            return true;
        const char *next = strchr(path, '/');
        return next && match_segments(pat, next + 1);
    }
    if (*pat == '\0' || *path == '\0')
        return *pat == '\0' && *path == '\0';
    const char *send = strchr(path, '/');
    size_t slen = send ? (size_t)(send - path) : strlen(path);
    char p[256], s[256];
    snprintf(p, sizeof p, "%.*s", (int)plen, pat);
    snprintf(s, sizeof s, "%.*s", (int)slen, path);
    if (fnmatch(p, s, 0) != 0)
        return false;
    if (!pend)
        return send == NULL;
    return match_segments(prest, send ? send + 1 : "");
}

bool lint_dockerignore_excluded(const char *ignore_text, const char *relpath, int *line)
{
    bool excluded = false;
    int no = 0;
    *line = 0;
    for (const char *p = ignore_text; *p;) {
        size_t len = strcspn(p, "\n");
        char pat[512];
        snprintf(pat, sizeof pat, "%.*s", (int)(len < sizeof pat ? len : sizeof pat - 1), p);
        p += len + (p[len] == '\n');
        no++;
        /* Trimmed; a # line is a comment; ! re-includes; Docker cleans the path (./, /). */
        char *s = pat + strspn(pat, " \t\r");
        size_t n = strlen(s);
        while (n > 0 && isspace((unsigned char)s[n - 1]))
            s[--n] = '\0';
        if (*s == '#' || *s == '\0')
            continue;
        bool negated = *s == '!';
        if (negated)
            s = s + 1 + strspn(s + 1, " \t");
        while (*s == '/' || (s[0] == '.' && s[1] == '/'))
            s += *s == '/' ? 1 : 2;
        n = strlen(s);
        while (n > 1 && s[n - 1] == '/')
            s[--n] = '\0';
        /* The path itself, or a directory above it. */
        char prefix[512];
        bool matched = false;
        for (size_t i = 0; !matched && i <= strlen(relpath); i++)
            if (relpath[i] == '/' || relpath[i] == '\0') {
                snprintf(prefix, sizeof prefix, "%.*s", (int)i, relpath);
                matched = match_segments(s, prefix);
            }
        if (matched) {
            excluded = !negated;
            *line = no;
        }
    }
    return excluded;
}

void lint_dockerignore_excludes(const char *path, struct lint *l)
{
    static const struct {
        const char *probe, *pattern, *what;
    } out[] = {
        {".git/HEAD", ".git", "the repository's history: megabytes, changed by every commit"},
        {"build/week-6/taskd", "build",
         "the host's objects and programs: copied into the build stage, they make `make` skip "
         "the compile or link objects built elsewhere"},
        {".run/services.env", ".run", "the local services' databases, sockets and logs"},
        {"compose/secrets/jwt_secret", "**/secrets",
         "the secret files: one COPY of their directory puts them into a layer that anyone "
         "with the image can read"},
    };
    char *text = tk_read_file(path, NULL);
    if (!text) {
        lint_add(l,
                 "%s does not exist: without it `docker build .` sends the whole checkout to the "
                 "builder, .git, build/, .run/ and compose/secrets/ included. Create it, one "
                 "pattern a line: .git, build, .run, **/secrets",
                 path);
        return;
    }
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) {
        int line;
        if (!lint_dockerignore_excluded(text, out[i].probe, &line))
            lint_add(l, "%s: %s is sent to the builder (%s): add a line `%s`%s", path, out[i].probe,
                     out[i].what, out[i].pattern,
                     line ? " (a later ! pattern takes it back in: see the line it names)" : "");
    }
    free(text);
}

void lint_dockerignore_keeps_build_inputs(const char *path, struct lint *l)
{
    static const char *const needed[] = {"Makefile",
                                         "shared/packages",
                                         "shared/mk/*.mk",
                                         "shared/src/*.c",
                                         "shared/src/*.h",
                                         "shared/tools/*.c",
                                         "shared/scripts/*.sh",
                                         "docs/api/openapi.yaml",
                                         "weeks/*/stage.c",
                                         "weeks/*/packages",
                                         "weeks/*/week.mk",
                                         "weeks/*/src/*.[ch]",
                                         "weeks/*/bin/*.c",
                                         "weeks/*/migrations/*.sql"};
    char *text = tk_read_file(path, NULL);
    if (!text)
        return; /* no .dockerignore leaves everything in (the other test says what that costs) */
    for (size_t i = 0; i < sizeof needed / sizeof needed[0]; i++) {
        glob_t g;
        if (glob(needed[i], 0, NULL, &g) != 0)
            continue;
        int first_line = 0, left_out = 0;
        const char *first = NULL;
        for (size_t k = 0; k < g.gl_pathc; k++) {
            int line;
            if (!lint_dockerignore_excluded(text, g.gl_pathv[k], &line))
                continue;
            if (left_out++ == 0) {
                first = g.gl_pathv[k];
                first_line = line;
            }
        }
        /* One line per kind of file: `*` alone would otherwise name a hundred. */
        if (left_out == 1)
            lint_add(l,
                     "%s:%d: this pattern leaves out %s, which the build needs (it compiles from "
                     "Makefile, shared/, docs/api/ and weeks/): narrow it, or add `!%s` after it",
                     path, first_line, first, first);
        else if (left_out > 1)
            lint_add(l,
                     "%s:%d: this pattern leaves out %s and %d more of %s, which the build "
                     "needs: narrow it",
                     path, first_line, first, left_out - 1, needed[i]);
        globfree(&g);
    }
    free(text);
}
