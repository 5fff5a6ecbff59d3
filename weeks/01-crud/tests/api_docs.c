/* api_docs.c — GET /docs: Swagger UI, served by taskd itself from files compiled in.
 *
 * Over HTTP only: the page is HTML that loads Swagger UI from /docs/ (never a CDN) and points
 * it at /openapi.json; its files come with the right Content-Type and a long cache lifetime
 * (their URLs carry the package version). A taskd built without the npm package answers /docs
 * with a page that says how to get it. That the page really renders, and that "Try it out"
 * works, is checked in a browser by make test-docs-ui. */
#include <stdio.h>
#include <string.h>

#include "testkit.h"

/* The value of the src/href attribute that starts at the first occurrence of prefix in html. */
static void attribute_from(const char *html, const char *prefix, char *out, size_t out_len)
{
    const char *p = strstr(html, prefix);
    cr_assert(p, "GET /docs: expected the page to refer to %s...; page:\n%.1500s", prefix, html);
    snprintf(out, out_len, "%.*s", (int)strcspn(p, "\"'"), p);
}

static void expect_asset(const char *path, const char *type)
{
    struct tk_response *r = tk_get(tk_shared(), path);
    tk_expect_status(r, 200);
    char buf[256];
    const char *ct = tk_header(r, "Content-Type", buf, sizeof buf);
    cr_assert(ct && strncmp(ct, type, strlen(type)) == 0, "%s: expected Content-Type %s, got %s",
              r->what, type, ct ? ct : "(none)");
    const char *cc = tk_header(r, "Cache-Control", buf, sizeof buf);
    cr_assert(cc && strstr(cc, "max-age=31536000"),
              "%s: expected a year-long Cache-Control (the URL names the version), got %s", r->what,
              cc ? cc : "(none)");
    cr_assert(r->body_len > 0, "%s: expected a body", r->what);
    tk_response_free(r);
}

GRADED(docs, docs_page_serves_swagger_ui_or_says_how_to_install_it, 2)
{
    struct tk_response *r = tk_get(tk_shared(), "/docs");
    tk_expect_status(r, 200);
    char buf[256];
    const char *ct = tk_header(r, "Content-Type", buf, sizeof buf);
    cr_assert(ct && strncmp(ct, "text/html", 9) == 0, "%s: expected text/html, got %s", r->what,
              ct ? ct : "(none)");
    const char *cc = tk_header(r, "Cache-Control", buf, sizeof buf);
    cr_assert(cc && strcmp(cc, "no-cache") == 0, "%s: expected Cache-Control: no-cache, got %s",
              r->what, cc ? cc : "(none)");
    cr_assert(!strstr(r->body, "//cdn") && !strstr(r->body, "unpkg.com") &&
                  !strstr(r->body, "jsdelivr"),
              "%s: expected no CDN: everything from this server; page:\n%.1500s", r->what, r->body);
    if (!strstr(r->body, "swagger-ui-bundle.js")) {
        cr_assert(strstr(r->body, "swagger-ui-dist") && strstr(r->body, "make deps"),
                  "%s: without Swagger UI, expected a page naming swagger-ui-dist and make deps; "
                  "got:\n%.1500s",
                  r->what, r->body);
        tk_response_free(r);
        return;
    }
    char js[256], css[256];
    attribute_from(r->body, "/docs/swagger-ui-bundle.js", js, sizeof js);
    attribute_from(r->body, "/docs/swagger-ui.css", css, sizeof css);
    tk_response_free(r);
    expect_asset(js, "text/javascript");
    expect_asset(css, "text/css");
    /* The page starts Swagger UI on this server's own document. */
    struct tk_response *init = tk_get(tk_shared(), "/docs/init.js");
    tk_expect_status(init, 200);
    cr_assert(strstr(init->body, "'/openapi.json'"), "%s: expected url '/openapi.json', got:\n%s",
              init->what, init->body);
    tk_response_free(init);
}

GRADED(docs, an_unknown_docs_file_is_a_404_problem, 1)
{
    struct tk_response *r = tk_get(tk_shared(), "/docs/no-such-file.js");
    tk_expect_problem(r, 404);
    tk_response_free(r);
}
