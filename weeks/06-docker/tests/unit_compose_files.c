/* unit_compose_files.c — week 6's files that are not C, graded: the Dockerfile, the
 * .dockerignore of its build context and compose.yaml. Hadolint is not packaged for Debian, so
 * these are the week's own rules (tests/support/unit_*_lint.c), one test each; a failure lists
 * every place that breaks the rule, with path:line and the line to write.
 *
 * Which files: the repository's (compose/Dockerfile, compose/compose.yaml, .dockerignore) for
 * `make test-week-6`; the learner's copies (Dockerfile, compose.yaml, .dockerignore) when
 * TASKD_LAB_FILES names a directory (labs.mk sets it for lab-6, lab-check-6 and solution-6), for
 * each file the lab has (weeks/06-docker/lab/files.txt declares it; the others are graded as the
 * repository has them). The suites run from the repository's root.
 *
 * compose.yaml is read as docker-compose resolves it (anchors, merge keys, short forms): the
 * checker runs `docker-compose config` (weeks/06-docker/packages installs it), which also tells
 * whether Compose accepts the file at all. It lists every service of every profile at once
 * (1.29 does not filter `config` by profile), so one run serves every week's checks.
 *
 * The `checker` tests at the end feed the rules files that break them and expect a complaint
 * naming the right thing: a checker that cannot fail grades nothing. They score 0 points (they
 * grade the checker, not the learner) and read only what they write to a scratch directory. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <criterion/hooks.h>
#include <criterion/internal/ordered-set.h>

#include "err.h"
#include "testkit.h"
#include "unit_compose_doc.h"
#include "unit_compose_lint.h"
#include "unit_dockerfile.h"
#include "unit_dockerfile_lint.h"
#include "unit_lint.h"

/* ---- the files ---- */

/* Does weeks/06-docker/lab/files.txt declare a lab file of this name (a path ending in /name)? */
static bool lab_declares(const char *name)
{
    char *list = tk_read_file("weeks/06-docker/lab/files.txt", NULL);
    bool found = false;
    for (char *line = list ? strtok(list, "\n") : NULL; line && !found; line = strtok(NULL, "\n")) {
        line[strcspn(line, " \t#")] = '\0';
        const char *base = strrchr(line, '/') ? strrchr(line, '/') + 1 : line;
        found = strcmp(base, name) == 0;
    }
    free(list);
    return found;
}

/* The file to grade: the learner's copy NAME in $TASKD_LAB_FILES when the lab has that file
 * (weeks/06-docker/lab/files.txt declares it), else the repository's at REPO_PATH. */
static const char *graded_file(char *buf, size_t len, const char *name, const char *repo_path)
{
    const char *lab = getenv("TASKD_LAB_FILES");
    if (lab && *lab && lab_declares(name))
        snprintf(buf, len, "%s/%s", lab, name);
    else
        snprintf(buf, len, "%s", repo_path);
    return buf;
}

static struct dockerfile *read_dockerfile(const char *path)
{
    char why[2048];
    struct dockerfile *df = NULL;
    int rc = dockerfile_parse(path, &df, why, sizeof why);
    cr_assert(rc == 0, "%s", why);
    return df;
}

static struct compose_doc *read_compose(const char *path)
{
    char why[8192];
    struct compose_doc *d = NULL;
    int rc = compose_doc_load(path, &d, why, sizeof why);
    cr_assert(rc == 0, "%s", why);
    return d;
}

static struct dockerfile *graded_dockerfile(void)
{
    char path[512];
    return read_dockerfile(graded_file(path, sizeof path, "Dockerfile", "compose/Dockerfile"));
}

static struct compose_doc *graded_compose(void)
{
    char path[512];
    return read_compose(graded_file(path, sizeof path, "compose.yaml", "compose/compose.yaml"));
}

/* Passes when the rule found nothing; fails with what it found. The grader keeps 1 KiB of a
 * message, so a long report is cut at a whole line there, and the whole of it goes to stderr
 * (the suite's log). Frees the report. */
static void expect_clean(struct lint *l)
{
    enum { KEPT = 900 };
    static char text[KEPT + 128];
    int problems = l->problems;
    const char *all = lint_text(l);
    size_t len = strlen(all);
    if (len <= KEPT) {
        snprintf(text, sizeof text, "%s", all);
    } else {
        size_t cut = KEPT;
        while (cut > 0 && all[cut] != '\n')
            cut--;
        int shown = 1;
        for (size_t i = 0; i < cut; i++)
            shown += all[i] == '\n';
        snprintf(text, sizeof text, "%.*s\n... and %d more (all of them in the suite's log)",
                 (int)cut, all, problems - shown);
        fprintf(stderr, "%s\n", all);
    }
    lint_free(l);
    cr_assert(problems == 0, "%s", text);
}

static void dockerfile_rule(void (*rule)(const struct dockerfile *, struct lint *))
{
    struct dockerfile *df = graded_dockerfile();
    struct lint l;
    lint_init(&l);
    rule(df, &l);
    dockerfile_free(df);
    expect_clean(&l);
}

static void compose_rule(void (*rule)(const struct compose_doc *, struct lint *))
{
    struct compose_doc *d = graded_compose();
    struct lint l;
    lint_init(&l);
    rule(d, &l);
    compose_doc_free(d);
    expect_clean(&l);
}

/* ---- the Dockerfile ---- */

GRADED(dockerfile, is_multi_stage_and_ships_without_the_toolchain, 2)
{
    dockerfile_rule(lint_dockerfile_multi_stage);
}

GRADED(dockerfile, shipped_targets_run_as_a_user_that_is_not_root, 2)
{
    dockerfile_rule(lint_dockerfile_non_root);
}

GRADED(dockerfile, shipped_targets_have_an_exec_form_healthcheck, 2)
{
    dockerfile_rule(lint_dockerfile_healthcheck);
}

GRADED(dockerfile, the_base_is_one_pinned_build_argument, 2)
{
    dockerfile_rule(lint_dockerfile_pinned_base);
}

GRADED(dockerfile, no_secret_in_env_or_arg, 2)
{
    dockerfile_rule(lint_dockerfile_no_secrets);
}

GRADED(dockerfile, packages_then_build_files_then_sources, 2)
{
    dockerfile_rule(lint_dockerfile_layer_order);
}

GRADED(dockerfile, shipped_targets_set_a_stop_signal, 1)
{
    dockerfile_rule(lint_dockerfile_stop_signal);
}

GRADED(dockerfile, entrypoint_is_exec_form_so_the_program_is_pid_1, 1)
{
    dockerfile_rule(lint_dockerfile_exec_entrypoint);
}

/* ---- .dockerignore ---- */

static void dockerignore_rule(void (*rule)(const char *, struct lint *))
{
    char path[512];
    struct lint l;
    lint_init(&l);
    rule(graded_file(path, sizeof path, ".dockerignore", ".dockerignore"), &l);
    expect_clean(&l);
}

GRADED(dockerignore, leaves_out_git_build_run_and_secrets, 2)
{
    dockerignore_rule(lint_dockerignore_excludes);
}

GRADED(dockerignore, keeps_what_the_build_needs, 1)
{
    dockerignore_rule(lint_dockerignore_keeps_build_inputs);
}

/* ---- compose.yaml ---- */

GRADED(compose, docker_compose_config_accepts_it, 2)
{
    compose_rule(lint_compose_accepted);
}

GRADED(compose, every_service_has_a_healthcheck, 2)
{
    struct dockerfile *df = graded_dockerfile();
    struct compose_doc *d = graded_compose();
    struct lint l;
    lint_init(&l);
    lint_compose_healthchecks(d, df, &l);
    compose_doc_free(d);
    dockerfile_free(df);
    expect_clean(&l);
}

GRADED(compose, depends_on_waits_for_health, 2)
{
    compose_rule(lint_compose_depends_on);
}

GRADED(compose, secrets_are_files, 1)
{
    compose_rule(lint_compose_secrets_are_files);
}

GRADED(compose, no_secret_in_the_environment, 2)
{
    compose_rule(lint_compose_no_secret_env);
}

GRADED(compose, services_read_their_secrets_from_files, 2)
{
    compose_rule(lint_compose_secret_files_read);
}

GRADED(compose, every_program_gets_the_secrets_it_needs, 2)
{
    compose_rule(lint_compose_programs_get_their_secrets);
}

GRADED(compose, one_network_for_every_service, 1)
{
    compose_rule(lint_compose_one_network);
}

GRADED(compose, ports_are_published_on_loopback_only, 1)
{
    compose_rule(lint_compose_loopback_ports);
}

GRADED(compose, postgres_data_is_on_a_named_volume, 1)
{
    compose_rule(lint_compose_postgres_volume);
}

GRADED(compose, every_service_has_week_profiles, 1)
{
    compose_rule(lint_compose_profiles);
}

GRADED(compose, each_profile_starts_what_its_services_depend_on, 1)
{
    compose_rule(lint_compose_profile_dependencies);
}

/* docker-compose config once for the whole compose suite rather than once per test (see
 * compose_doc_share), in the runner's process before any test starts (a suite's own hook comes
 * too late for the test Criterion starts first), and only when a compose test is to run.
 * (Criterion names a hook after its line: two hooks on the same line of different files of one
 * suite would not link.) */
ReportHook(PRE_ALL)(struct criterion_test_set *set)
{
    char path[512];
    bool any = false;
    struct criterion_suite_set *ss;
    struct criterion_test *t;
    FOREACH_SET(ss, set->suites)
    {
        if (strcmp(ss->suite.name, "compose") != 0)
            continue;
        FOREACH_SET(t, ss->tests)
        {
            any = any || !t->data || !t->data->disabled;
        }
    }
    if (any && compose_doc_share(
                   graded_file(path, sizeof path, "compose.yaml", "compose/compose.yaml")) != 0)
        fprintf(stderr,
                "compose: could not share one docker-compose run: each test runs its own\n");
}

ReportHook(POST_ALL)(struct criterion_global_stats *stats)
{
    (void)stats;
    compose_doc_unshare();
}

/* ---- the checker's own tests: broken files must be rejected ---- */

static char scratch[64];

static void make_scratch(void)
{
    snprintf(scratch, sizeof scratch, "/tmp/unit-compose.XXXXXX");
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

/* Not graded: they grade the checker (tk_main counts a plain Test() as 1 point). */
#define CHECKER_TEST(name) Test(checker, name, .description = "points:0")
TestSuite(checker, .init = make_scratch, .fini = remove_scratch);

/* A Dockerfile every rule accepts: two shipped targets FROM a runtime stage, and the traps a
 * reader must get right (a comment inside a continued RUN, keywords in lower case, settings
 * whose names mention secrets without being any). Tests break it one edit at a time. */
static const char good_dockerfile[] =
    "# syntax=docker/dockerfile:1\n"                                                    /* 1 */
    "# A Dockerfile the checker must accept.\n"                                         /* 2 */
    "ARG BASE=debian:bookworm-slim\n"                                                   /* 3 */
    "\n"                                                                                /* 4 */
    "FROM ${BASE} AS build\n"                                                           /* 5 */
    "RUN apt-get update \\\n"                                                           /* 6 */
    "  # a comment inside a continued RUN is dropped\n"                                 /* 7 */
    " && apt-get install -y --no-install-recommends gcc make libcjson-dev\n"            /* 8 */
    "WORKDIR /src\n"                                                                    /* 9 */
    "COPY Makefile ./\n"                                                                /* 10 */
    "COPY shared/ shared/\n"                                                            /* 11 */
    "COPY weeks/ weeks/\n"                                                              /* 12 */
    "RUN make programs-week-6\n"                                                        /* 13 */
    "\n"                                                                                /* 14 */
    "FROM $BASE AS runtime\n"                                                           /* 15 */
    "RUN useradd --system --uid 10001 taskd\n"                                          /* 16 */
    "\n"                                                                                /* 17 */
    "FROM runtime AS taskd\n"                                                           /* 18 */
    "COPY --from=build /src/build/week-6/taskd /usr/local/bin/\n"                       /* 19 */
    "ENV PORT=8080 ACCESS_TOKEN_TTL_SECONDS=900 JWT_SECRET_FILE=/run/secrets/jwt\n"     /* 20 */
    "USER 10001:10001\n"                                                                /* 21 */
    "HEALTHCHECK --interval=5s CMD [\"taskd-probe\", \"http\", \"8080\", \"/ready\"]\n" /* 22 */
    "STOPSIGNAL SIGTERM\n"                                                              /* 23 */
    "ENTRYPOINT [\"taskd\"]\n"                                                          /* 24 */
    "\n"                                                                                /* 25 */
    "from runtime as worker\n"                                                          /* 26 */
    "copy --from=build /src/build/week-6/taskd-worker /usr/local/bin/\n"                /* 27 */
    "user taskd\n"                                                                      /* 28 */
    "healthcheck cmd [\"taskd-probe\", \"file\", \"/tmp/w.health\", \"15\"]\n"          /* 29 */
    "stopsignal SIGTERM\n"                                                              /* 30 */
    "entrypoint [\"taskd-worker\"]\n";                                                  /* 31 */

/* One change to a good file: the text `from` (there exactly once) becomes `to`. A list of them
 * ends with {NULL, NULL}. */
struct edit {
    const char *from, *to;
};

/* text with the edits made one after the other, written to scratch/name; its path into path. */
static void write_variant(char *path, size_t len, const char *name, const char *text,
                          const struct edit *edits)
{
    size_t cap = strlen(text) + 1;
    for (const struct edit *e = edits; e && e->from; e++)
        cap += strlen(e->to);
    char *out = malloc(cap);
    cr_assert(out, "out of memory");
    snprintf(out, cap, "%s", text);
    for (const struct edit *e = edits; e && e->from; e++) {
        char *at = strstr(out, e->from);
        cr_assert(at && !strstr(at + 1, e->from), "the test's edit: `%s` is not in the text once",
                  e->from);
        size_t from = strlen(e->from), to = strlen(e->to);
        memmove(at + to, at + from, strlen(at + from) + 1);
        memcpy(at, e->to, to);
    }
    snprintf(path, len, "%s/%s", scratch, name);
    FILE *f = fopen(path, "w");
    cr_assert(f, "fopen %s: %s", path, strerror(errno));
    fputs(out, f);
    fclose(f);
    free(out);
}

typedef void (*dockerfile_rule_fn)(const struct dockerfile *, struct lint *);

/* Runs rule on the good Dockerfile with the edits made: the report's text, "" when it found
 * nothing (static, overwritten by the next call). */
static const char *dockerfile_report(dockerfile_rule_fn rule, const struct edit *edits)
{
    static char text[16384];
    char path[256];
    write_variant(path, sizeof path, "Dockerfile", good_dockerfile, edits);
    struct dockerfile *df = read_dockerfile(path);
    struct lint l;
    lint_init(&l);
    rule(df, &l);
    snprintf(text, sizeof text, "%s", lint_text(&l));
    lint_free(&l);
    dockerfile_free(df);
    return text;
}

/* The rule complains about the edited Dockerfile, and its report says want. */
#define EXPECT_REJECTS(rule, want, ...)                                                            \
    do {                                                                                           \
        const struct edit edits_[] = {__VA_ARGS__, {NULL, NULL}};                                  \
        const char *got_ = dockerfile_report(rule, edits_);                                        \
        cr_assert(strstr(got_, want), "%s should say `%s` after `%s` -> `%s`; it said: %s", #rule, \
                  want, edits_[0].from, edits_[0].to, got_[0] ? got_ : "(nothing)");               \
    } while (0)

/* The rule finds nothing wrong with the edited Dockerfile. */
#define EXPECT_ACCEPTS(rule, ...)                                                                  \
    do {                                                                                           \
        const struct edit edits_[] = {__VA_ARGS__, {NULL, NULL}};                                  \
        const char *got_ = dockerfile_report(rule, edits_);                                        \
        cr_assert(got_[0] == '\0', "%s should accept `%s` -> `%s`; it said: %s", #rule,            \
                  edits_[0].from, edits_[0].to, got_);                                             \
    } while (0)

CHECKER_TEST(accepts_a_good_dockerfile)
{
    static const dockerfile_rule_fn rules[] = {
        lint_dockerfile_multi_stage, lint_dockerfile_non_root,       lint_dockerfile_healthcheck,
        lint_dockerfile_pinned_base, lint_dockerfile_no_secrets,     lint_dockerfile_layer_order,
        lint_dockerfile_stop_signal, lint_dockerfile_exec_entrypoint};
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++) {
        const char *got = dockerfile_report(rules[i], NULL);
        cr_assert(got[0] == '\0', "rule %zu rejects the good Dockerfile: %s", i, got);
    }
}

CHECKER_TEST(reads_directives_continuations_heredocs_and_lines)
{
    char path[256], why[1024];
    const struct edit escape[] = {
        {"# syntax=docker/dockerfile:1\n", "# escape=`\n"},
        {"RUN apt-get update \\\n", "RUN apt-get update `\n"},
        {"RUN make programs-week-6\n", "RUN <<EOF\nset -e\nmake programs-week-6\nEOF\n"},
        {NULL, NULL}};
    write_variant(path, sizeof path, "Dockerfile", good_dockerfile, escape);
    struct dockerfile *df = read_dockerfile(path);
    cr_assert_eq(dockerfile_stage_count(df), 4, "4 stages, got %zu", dockerfile_stage_count(df));
    const struct dockerfile_stage *worker = dockerfile_stage_find(df, "WORKER");
    cr_assert(worker && worker->line == 29 && worker->parent == 1,
              "worker: FROM at line 29, built on stage 1 (runtime)");
    const struct dockerfile_instr *run = dockerfile_instr(df, 2);
    cr_assert(strcmp(run->keyword, "RUN") == 0 && run->line == 6 && strstr(run->args, "gcc make") &&
                  !strstr(run->args, "comment"),
              "the RUN at line 6 joins its lines (` continues, the comment is dropped): %s at %d: "
              "%s",
              run->keyword, run->line, run->args);
    cr_assert_str_eq(dockerfile_instr(df, 3)->keyword, "WORKDIR");
    cr_assert_eq(dockerfile_instr(df, 3)->line, 9);
    const struct dockerfile_instr *heredoc = dockerfile_instr(df, 7);
    cr_assert(heredoc->line == 13 && strstr(heredoc->args, "\nmake programs-week-6\nEOF") &&
                  strcmp(dockerfile_instr(df, 8)->keyword, "FROM") == 0,
              "the heredoc RUN at line 13 holds its body, up to EOF: line %d: %s", heredoc->line,
              heredoc->args);
    char expanded[64];
    cr_assert(dockerfile_expand(df, worker, "${NOPE:-x}$BASE", expanded, sizeof expanded));
    cr_assert_str_eq(expanded, "xdebian:bookworm-slim");
    dockerfile_free(df);

    const struct edit typo[] = {{"from runtime as worker", "form runtime as worker"}, {NULL, NULL}};
    write_variant(path, sizeof path, "Dockerfile", good_dockerfile, typo);
    df = NULL;
    cr_assert(dockerfile_parse(path, &df, why, sizeof why) == ERR_MALFORMED);
    cr_assert(strstr(why, "Dockerfile:26: unknown instruction form"), "got: %s", why);
    const struct edit unjoined[] = {{"RUN apt-get update \\\n", "RUN apt-get update\n"},
                                    {NULL, NULL}};
    write_variant(path, sizeof path, "Dockerfile", good_dockerfile, unjoined);
    cr_assert(dockerfile_parse(path, &df, why, sizeof why) == ERR_MALFORMED);
    cr_assert(strstr(why, "Dockerfile:8: unknown instruction &&"), "got: %s", why);
}

CHECKER_TEST(rejects_a_single_stage_and_a_target_built_on_the_toolchain)
{
    EXPECT_REJECTS(lint_dockerfile_multi_stage, "one stage only",
                   {"FROM ${BASE} AS build\n", "FROM ${BASE} AS taskd\n"},
                   {"FROM $BASE AS runtime\n", ""}, {"FROM runtime AS taskd\n", ""},
                   {"from runtime as worker\n", ""});
    EXPECT_REJECTS(lint_dockerfile_multi_stage,
                   "Dockerfile:6: this RUN (stage build) installs gcc, and the target taskd",
                   {"FROM runtime AS taskd", "FROM build AS taskd"});
    EXPECT_REJECTS(lint_dockerfile_multi_stage, "the stage worker copies nothing",
                   {"copy --from=build /src/build/week-6/taskd-worker", "copy worker"});
    EXPECT_REJECTS(lint_dockerfile_multi_stage, "no stage named worker", {"as worker", "as wrkr"});
}

CHECKER_TEST(rejects_root_and_follows_user_through_the_stages)
{
    EXPECT_REJECTS(lint_dockerfile_non_root, "Dockerfile:21: USER root is root",
                   {"USER 10001:10001", "USER root"});
    EXPECT_REJECTS(lint_dockerfile_non_root, "USER 0:0 is root", {"USER 10001:10001", "USER 0:0"});
    EXPECT_REJECTS(lint_dockerfile_non_root, "Dockerfile:26: worker runs as root",
                   {"user taskd\n", ""});
    EXPECT_REJECTS(lint_dockerfile_non_root, "a variable there has no value",
                   {"USER 10001:10001", "USER ${TASKD_UID}"});
    /* Inherited: a USER in the runtime stage holds for both targets... */
    EXPECT_ACCEPTS(lint_dockerfile_non_root,
                   {"taskd\n\nFROM runtime AS taskd", "taskd\nUSER 10001\n\nFROM runtime AS taskd"},
                   {"user taskd\n", ""}, {"USER 10001:10001\n", ""});
    /* ...until a target goes back to root; an ARG's default is what ${U} means. */
    EXPECT_REJECTS(lint_dockerfile_non_root, "USER ${U} is root",
                   {"taskd\n\nFROM runtime AS taskd", "taskd\nUSER 10001\n\nFROM runtime AS taskd"},
                   {"USER 10001:10001", "ARG U=0\nUSER ${U}"});
}

CHECKER_TEST(rejects_a_missing_off_or_shell_form_healthcheck)
{
    static const char probe[] = "CMD [\"taskd-probe\", \"http\", \"8080\", \"/ready\"]";
    static const char worker[] =
        "healthcheck cmd [\"taskd-probe\", \"file\", \"/tmp/w.health\", \"15\"]\n";
    EXPECT_REJECTS(lint_dockerfile_healthcheck,
                   "Dockerfile:22: taskd's HEALTHCHECK CMD is the shell form",
                   {probe, "CMD taskd-probe http 8080 /ready"});
    EXPECT_REJECTS(lint_dockerfile_healthcheck, "not valid JSON",
                   {probe, "CMD ['taskd-probe', 'http', '8080', '/ready']"});
    EXPECT_REJECTS(lint_dockerfile_healthcheck, "Dockerfile:26: worker has no HEALTHCHECK",
                   {worker, ""});
    EXPECT_REJECTS(lint_dockerfile_healthcheck, "HEALTHCHECK NONE", {worker, "HEALTHCHECK NONE\n"});
}

CHECKER_TEST(rejects_an_unpinned_or_hard_coded_base)
{
    static const char base[] = "ARG BASE=debian:bookworm-slim";
    EXPECT_REJECTS(lint_dockerfile_pinned_base, "Dockerfile:3: ARG BASE=debian has no tag",
                   {base, "ARG BASE=debian"});
    EXPECT_REJECTS(lint_dockerfile_pinned_base, "ARG BASE=debian: has an empty tag",
                   {base, "ARG BASE=debian:"});
    EXPECT_REJECTS(lint_dockerfile_pinned_base, "is :latest", {base, "ARG BASE=debian:latest"});
    EXPECT_REJECTS(lint_dockerfile_pinned_base, "has no tag",
                   {base, "ARG BASE=localhost:5000/debian"});
    EXPECT_REJECTS(lint_dockerfile_pinned_base, "ARG BASE has no default", {base, "ARG BASE"});
    EXPECT_ACCEPTS(lint_dockerfile_pinned_base, {base, "ARG BASE=localhost:5000/debian:bookworm"});
    EXPECT_ACCEPTS(lint_dockerfile_pinned_base, {base, "ARG BASE=debian@sha256:0123456789abcdef"});
    EXPECT_REJECTS(lint_dockerfile_pinned_base,
                   "Dockerfile:15: FROM debian:bookworm-slim: every stage starts FROM ${BASE}",
                   {"FROM $BASE AS runtime", "FROM debian:bookworm-slim AS runtime"});
    EXPECT_REJECTS(lint_dockerfile_pinned_base, "the ARG BASE after it belongs to one stage",
                   {"ARG BASE=debian:bookworm-slim\n\nFROM ${BASE} AS build\n",
                    "FROM ${BASE} AS build\nARG BASE=debian:bookworm-slim\n\n"});
}

CHECKER_TEST(rejects_secrets_in_env_and_arg_without_printing_them)
{
    static const char user[] = "USER 10001:10001";
    EXPECT_REJECTS(lint_dockerfile_no_secrets, "Dockerfile:21: ENV JWT_SECRET is a secret",
                   {user, "ENV JWT_SECRET=s3cr3t-value\nUSER 10001:10001"});
    EXPECT_REJECTS(lint_dockerfile_no_secrets, "ARG DB_PASSWORD is a secret",
                   {"WORKDIR /src", "ARG DB_PASSWORD\nWORKDIR /src"});
    EXPECT_REJECTS(lint_dockerfile_no_secrets, "ENV API_KEY is a secret",
                   {user, "ENV API_KEY abc def\nUSER 10001:10001"});
    EXPECT_REJECTS(
        lint_dockerfile_no_secrets, "ENV DATABASE_URL holds a URL with user:password@",
        {user, "ENV DATABASE_URL=\"postgresql://taskd:hunter2@db/taskd\"\nUSER 10001:10001"});
    const struct edit leak[] = {
        {user, "ENV JWT_SECRET=s3cr3t-value DATABASE_URL=postgresql://taskd:hunter2@db/taskd\n"
               "USER 10001:10001"},
        {NULL, NULL}};
    const char *got = dockerfile_report(lint_dockerfile_no_secrets, leak);
    cr_assert(got[0] && !strstr(got, "s3cr3t") && !strstr(got, "hunter2"),
              "the report must name the variables, never print their values: %s", got);
}

CHECKER_TEST(rejects_copies_that_defeat_the_layer_cache)
{
    static const char copies[] = "COPY Makefile ./\nCOPY shared/ shared/\nCOPY weeks/ weeks/\n";
    EXPECT_REJECTS(lint_dockerfile_layer_order,
                   "Dockerfile:6: a COPY before the package install (line 7)",
                   {"FROM ${BASE} AS build\n", "FROM ${BASE} AS build\nCOPY weeks/ /src/weeks/\n"});
    EXPECT_REJECTS(lint_dockerfile_layer_order,
                   "Dockerfile:10: this COPY brings the build files and the sources in one layer",
                   {copies, "COPY . .\n"});
    EXPECT_REJECTS(lint_dockerfile_layer_order,
                   "Dockerfile:10: the sources are copied before the build files",
                   {copies, "COPY shared/ shared/\nCOPY weeks/ weeks/\nCOPY Makefile ./\n"});
    EXPECT_ACCEPTS(lint_dockerfile_layer_order,
                   {"COPY shared/ shared/\nCOPY weeks/ weeks/\n", "COPY [\".\", \"/src/\"]\n"});
}

CHECKER_TEST(rejects_a_missing_stop_signal_and_a_shell_as_pid_1)
{
    static const char stop[] = "STOPSIGNAL SIGTERM\nENTRYPOINT";
    static const char entry[] = "ENTRYPOINT [\"taskd\"]";
    EXPECT_REJECTS(lint_dockerfile_stop_signal, "Dockerfile:18: taskd has no STOPSIGNAL",
                   {stop, "ENTRYPOINT"});
    EXPECT_REJECTS(lint_dockerfile_stop_signal, "STOPSIGNAL SIGKILL cannot be caught",
                   {stop, "STOPSIGNAL SIGKILL\nENTRYPOINT"});
    EXPECT_REJECTS(lint_dockerfile_exec_entrypoint, "Dockerfile:24: ENTRYPOINT is the shell form",
                   {entry, "ENTRYPOINT taskd"});
    EXPECT_REJECTS(lint_dockerfile_exec_entrypoint, "ENTRYPOINT runs /bin/sh",
                   {entry, "ENTRYPOINT [\"/bin/sh\", \"-c\", \"taskd\"]"});
    EXPECT_REJECTS(lint_dockerfile_exec_entrypoint, "worker has no ENTRYPOINT",
                   {"entrypoint [\"taskd-worker\"]\n", ""});
}

/* ---- .dockerignore ---- */

static const char good_dockerignore[] = "# comment\n"
                                        ".git\n"
                                        "/build/\n"
                                        ".run\n"
                                        "docs\n"
                                        "!docs/api\n"
                                        "**/*.md\n"
                                        "weeks/*/tests\n"
                                        "**/secrets\n";

static const char *ignore_report(void (*rule)(const char *, struct lint *), const char *text)
{
    static char report[8192];
    char path[256];
    write_variant(path, sizeof path, ".dockerignore", text, NULL);
    struct lint l;
    lint_init(&l);
    rule(path, &l);
    snprintf(report, sizeof report, "%s", lint_text(&l));
    lint_free(&l);
    return report;
}

CHECKER_TEST(dockerignore_patterns_match_as_docker_matches_them)
{
    static const struct {
        const char *path;
        bool excluded;
        int line; /* the deciding pattern's */
    } cases[] = {
        {".git/HEAD", true, 2},
        {"build/week-6/taskd", true, 3},
        {"docs/api/openapi.yaml", false, 6},
        {"docs/decisions/0028.md", true, 7},
        {"weeks/01-crud/tests/api.c", true, 8},
        {"weeks/01-crud/src/task.c", false, 0},
        {"compose/secrets/jwt_secret", true, 9},
        {"Makefile", false, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int line;
        bool ex = lint_dockerignore_excluded(good_dockerignore, cases[i].path, &line);
        cr_assert(ex == cases[i].excluded && line == cases[i].line,
                  "%s: expected %s by line %d, got %s by line %d", cases[i].path,
                  cases[i].excluded ? "excluded" : "kept", cases[i].line, ex ? "excluded" : "kept",
                  line);
    }
    cr_assert_str_empty(ignore_report(lint_dockerignore_excludes, good_dockerignore));
    cr_assert_str_empty(ignore_report(lint_dockerignore_keeps_build_inputs, good_dockerignore));
}

CHECKER_TEST(dockerignore_rules_reject_what_leaks_and_what_starves_the_build)
{
    const char *got = ignore_report(lint_dockerignore_excludes, ".git\nbuild\n**/secrets\n");
    cr_assert(strstr(got, ".run/services.env is sent to the builder"), "got: %s", got);
    got = ignore_report(lint_dockerignore_excludes, ".git\nbuild\n.run\nsecrets\n!build/week-6\n");
    cr_assert(strstr(got, "build/week-6/taskd is sent") && strstr(got, "a later ! pattern") &&
                  strstr(got, "compose/secrets/jwt_secret is sent"),
              "got: %s", got);
    got = ignore_report(lint_dockerignore_keeps_build_inputs, "*\n!.git\n");
    cr_assert(strstr(got, ".dockerignore:1: this pattern leaves out Makefile"), "got: %s", got);
    got = ignore_report(lint_dockerignore_keeps_build_inputs, "weeks/*/src\n");
    cr_assert(strstr(got, "leaves out weeks/01-crud/src/"), "got: %s", got);
}

/* ---- compose.yaml ---- */

/* A compose file every rule accepts (an anchor and merge keys, as compose.yaml uses them), whose
 * taskd is built from the good Dockerfile in the same directory. Lines 7, 12 and 19 are named
 * by the tests below. */
static const char good_compose[] =
    "x-weeks: &every-week\n"                                           /* 1 */
    "  profiles: [week1, week2, week3, week4, week5, week6]\n"         /* 2 */
    "services:\n"                                                      /* 3 */
    "  taskd:\n"                                                       /* 4 */
    "    <<: *every-week\n"                                            /* 5 */
    "    build: {context: ., dockerfile: Dockerfile, target: taskd}\n" /* 6 */
    "    ports: [\"127.0.0.1:8080:8080\"]\n"                           /* 7 */
    "    environment:\n"                                               /* 8 */
    "      DATABASE_URL_FILE: /run/secrets/database_url\n"             /* 9 */
    "      ACCESS_TOKEN_TTL_SECONDS: \"900\"\n"                        /* 10 */
    "    secrets: [database_url]\n"                                    /* 11 */
    "    depends_on:\n"                                                /* 12 */
    "      postgres: {condition: service_healthy}\n"                   /* 13 */
    "    networks: [backend]\n"                                        /* 14 */
    "  postgres:\n"                                                    /* 15 */
    "    <<: *every-week\n"                                            /* 16 */
    "    image: postgres:15-bookworm\n"                                /* 17 */
    "    environment:\n"                                               /* 18 */
    "      POSTGRES_PASSWORD_FILE: /run/secrets/postgres_password\n"   /* 19 */
    "    secrets: [postgres_password]\n"                               /* 20 */
    "    volumes: [\"pg-data:/var/lib/postgresql/data\"]\n"            /* 21 */
    "    healthcheck: {test: [CMD, pg_isready], interval: 5s}\n"       /* 22 */
    "    networks: {backend: {}}\n"                                    /* 23 */
    "networks: {backend: {}}\n"                                        /* 24 */
    "volumes: {pg-data: {}}\n"                                         /* 25 */
    "secrets:\n"                                                       /* 26 */
    "  database_url: {file: ./secrets/database_url}\n"                 /* 27 */
    "  postgres_password: {file: ./secrets/postgres_password}\n";      /* 28 */

/* The compose rules, in the order compose_reports runs them. */
enum {
    R_ACCEPTED,
    R_DEPENDS,
    R_FILES,
    R_ENV,
    R_READ,
    R_NETWORK,
    R_PORTS,
    R_VOLUME,
    R_PROFILES,
    R_PROFILE_DEPS,
    R_HEALTH,
    N_COMPOSE_RULES
};

/* Every compose rule on the good compose file with the edits made: each rule's report, indexed
 * by R_*, "" when clean (static, overwritten by the next call). One docker-compose run. */
static const char *const *compose_reports(const struct edit *edits)
{
    typedef void (*compose_rule_fn)(const struct compose_doc *, struct lint *);
    static const compose_rule_fn rules[R_HEALTH] = {
        [R_ACCEPTED] = lint_compose_accepted,
        [R_DEPENDS] = lint_compose_depends_on,
        [R_FILES] = lint_compose_secrets_are_files,
        [R_ENV] = lint_compose_no_secret_env,
        [R_READ] = lint_compose_secret_files_read,
        [R_NETWORK] = lint_compose_one_network,
        [R_PORTS] = lint_compose_loopback_ports,
        [R_VOLUME] = lint_compose_postgres_volume,
        [R_PROFILES] = lint_compose_profiles,
        [R_PROFILE_DEPS] = lint_compose_profile_dependencies,
    };
    static char text[N_COMPOSE_RULES][4096];
    static const char *reports[N_COMPOSE_RULES];
    char dpath[256], cpath[256];
    write_variant(dpath, sizeof dpath, "Dockerfile", good_dockerfile, NULL);
    write_variant(cpath, sizeof cpath, "compose.yaml", good_compose, edits);
    struct dockerfile *df = read_dockerfile(dpath);
    struct compose_doc *d = read_compose(cpath);
    for (int i = 0; i < N_COMPOSE_RULES; i++) {
        struct lint l;
        lint_init(&l);
        if (i == R_HEALTH)
            lint_compose_healthchecks(d, df, &l);
        else
            rules[i](d, &l);
        snprintf(text[i], sizeof text[i], "%s", lint_text(&l));
        reports[i] = text[i];
        lint_free(&l);
    }
    compose_doc_free(d);
    dockerfile_free(df);
    return reports;
}

static void expect_said(const char *const *reports, int rule, const char *want)
{
    cr_assert(strstr(reports[rule], want), "compose rule %d should say `%s`; it said: %s", rule,
              want, reports[rule][0] ? reports[rule] : "(nothing)");
}

CHECKER_TEST(accepts_a_good_compose_file)
{
    const char *const *reports = compose_reports(NULL);
    for (int i = 0; i < N_COMPOSE_RULES; i++)
        cr_assert(reports[i][0] == '\0', "compose rule %d rejects the good file: %s", i,
                  reports[i]);
}

/* One docker-compose run for several breaks, each caught by its own rule. */
CHECKER_TEST(compose_rules_reject_a_broken_taskd)
{
    const struct edit edits[] = {
        {"      postgres: {condition: service_healthy}\n", "      - postgres\n"},
        {"depends_on:\n", "depends_on:\n      - redis\n"},
        {"127.0.0.1:8080:8080", "8080:8080"},
        {"/run/secrets/database_url", "/run/secrets/db_url"},
        {"    networks: [backend]\n", ""},
        {"  postgres:\n",
         "  redis:\n    image: redis:7\n    profiles: [week6]\n    networks: [backend]\n"
         "    healthcheck: {test: [CMD, redis-cli, ping]}\n  postgres:\n"},
        {NULL, NULL}};
    const char *const *r = compose_reports(edits);
    expect_said(r, R_DEPENDS,
                "compose.yaml:12: service taskd: depends_on postgres with condition "
                "service_started (what the short form");
    expect_said(r, R_PORTS, "compose.yaml:7: service taskd: publishes \"8080:8080\" on every");
    expect_said(r, R_READ, "mounts the secret database_url at /run/secrets/database_url, but no");
    expect_said(r, R_READ, "DATABASE_URL_FILE=/run/secrets/db_url, but the service does not mount");
    expect_said(r, R_NETWORK, "service taskd: is not on the network backend");
    expect_said(r, R_PROFILE_DEPS, "in the profile week1 it depends on redis, which that profile");
    cr_assert_str_empty(r[R_PROFILES]);
    cr_assert_str_empty(r[R_HEALTH]);
}

CHECKER_TEST(compose_rules_reject_a_broken_postgres)
{
    const struct edit edits[] = {
        {"POSTGRES_PASSWORD_FILE: /run/secrets/postgres_password",
         "POSTGRES_PASSWORD: hunter2\n      BACKUP_URL: postgresql://taskd:hunter2@db/taskd"},
        {"pg-data:/var/lib/postgresql/data", "./pgdata:/var/lib/postgresql/data"},
        {"    healthcheck: {test: [CMD, pg_isready], interval: 5s}\n", ""},
        {"    <<: *every-week\n    image", "    profiles: [week2]\n    image"},
        {"file: ./secrets/postgres_password}", "external: true}"},
        {"networks: {backend: {}}\nvolumes", "networks: {backend: {}, other: {}}\nvolumes"},
        {NULL, NULL}};
    const char *const *r = compose_reports(edits);
    expect_said(r, R_ENV,
                "compose.yaml:19: service postgres: POSTGRES_PASSWORD in its environment");
    expect_said(r, R_ENV, "BACKUP_URL in its environment holds a URL with user:password@");
    cr_assert(!strstr(r[R_ENV], "hunter2"), "a report never prints the secret: %s", r[R_ENV]);
    expect_said(r, R_VOLUME, "/var/lib/postgresql/data is a directory of the host");
    expect_said(r, R_HEALTH,
                "service postgres: has no healthcheck: its image (postgres:15-bookworm)");
    expect_said(r, R_PROFILE_DEPS, "in the profile week1 it depends on postgres");
    expect_said(r, R_FILES, "the secret postgres_password is external");
    expect_said(r, R_NETWORK, "2 networks declared");
    expect_said(r, R_READ, "mounts the secret postgres_password at /run/secrets/postgres_password");
}

CHECKER_TEST(compose_rules_reject_no_profiles_a_warning_and_a_file_compose_refuses)
{
    const struct edit edits[] = {{"  postgres:\n    <<: *every-week\n", "  postgres:\n"},
                                 {", week6]\n", "]\n"},
                                 {"postgres:15-bookworm", "postgres:${PG_TAG}"},
                                 {NULL, NULL}};
    const char *const *r = compose_reports(edits);
    expect_said(r, R_PROFILES, "service postgres: has no profiles");
    expect_said(r, R_PROFILES, "no service is in the profile week6");
    expect_said(r, R_ACCEPTED, "warns (it reads the file with no environment and no .env");
    expect_said(r, R_ACCEPTED, "The PG_TAG variable is not set");

    char path[256], why[4096];
    const struct edit typo[] = {{"    healthcheck:", "    helthcheck:"}, {NULL, NULL}};
    write_variant(path, sizeof path, "compose.yaml", good_compose, typo);
    struct compose_doc *d = NULL;
    cr_assert_eq(compose_doc_load(path, &d, why, sizeof why), ERR_INVALID);
    cr_assert(strstr(why, "docker-compose config rejects") && strstr(why, "helthcheck"),
              "docker-compose's own words name the key: %s", why);
}
