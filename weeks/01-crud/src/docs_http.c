/* docs_http.c — GET /docs and its assets (see docs_http.h).
 *
 * The page is a few lines of HTML that load Swagger UI's stylesheet and script from /docs/ and
 * point it at /openapi.json, so "Try it out" talks to the very server that serves the page.
 * The assets are bytes compiled into the binary (build/gen/swagger_ui.c, made by
 * shared/tools/embed from shared/npm/node_modules/swagger-ui-dist); their URLs carry the
 * package's version, so a browser may keep them for a year and a new version is a new URL. */
#include "docs_http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "buf.h"
#include "err.h"
#include "http.h"
#include "problem.h"

/* Generated from swagger-ui-dist by shared/tools/embed (see shared/mk/stage.mk); no files and
 * an empty version when the package was not installed. */
extern const char swagger_ui_version[];
extern const size_t swagger_ui_count;
extern const char *const swagger_ui_names[];
extern const unsigned char *const swagger_ui_data[];
extern const size_t swagger_ui_lens[];

static const char missing_page[] =
    "<!doctype html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\">"
    "<title>taskd API docs: Swagger UI is not installed</title></head>\n<body>\n"
    "<h1>Swagger UI is not installed</h1>\n"
    "<p>This taskd was built without the files of the npm package <code>swagger-ui-dist</code>, "
    "so it cannot show the interactive docs. To get them, on a machine that can reach the npm "
    "registry:</p>\n"
    "<pre>make deps          # runs npm ci in shared/npm\nmake run           # rebuilds taskd "
    "with the docs</pre>\n"
    "<p>Meanwhile the API's description is at <a href=\"/openapi.json\">/openapi.json</a>.</p>\n"
    "</body>\n</html>\n";

static bool have_asset(const char *name)
{
    for (size_t i = 0; i < swagger_ui_count; i++)
        if (strcmp(swagger_ui_names[i], name) == 0)
            return true;
    return false;
}

/* The page, rendered once at start-up (it names the assets' version). NULL when out of memory. */
static char *render_page(void)
{
    struct buf b = BUF_INIT;
    const char *v = swagger_ui_version;
    buf_printf(&b,
               "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<title>taskd API docs</title>\n"
               "<link rel=\"stylesheet\" href=\"/docs/swagger-ui.css?v=%s\">\n",
               v);
    if (have_asset("favicon-32x32.png"))
        buf_printf(&b,
                   "<link rel=\"icon\" type=\"image/png\" href=\"/docs/favicon-32x32.png?v=%s\">\n",
                   v);
    buf_printf(&b,
               "</head>\n<body>\n<div id=\"swagger-ui\"></div>\n"
               "<script src=\"/docs/swagger-ui-bundle.js?v=%s\"></script>\n"
               "<script src=\"/docs/init.js?v=%s\"></script>\n</body>\n</html>\n",
               v, v);
    return b.failed ? (buf_free(&b), NULL) : buf_steal(&b, NULL);
}

/* Swagger UI's start, as a file of our own rather than an inline script. */
static const char init_js[] = "window.ui = SwaggerUIBundle({\n"
                              "  url: '/openapi.json',\n"
                              "  dom_id: '#swagger-ui',\n"
                              "  deepLinking: true,\n"
                              "  tryItOutEnabled: false,\n"
                              "  displayRequestDuration: true\n"
                              "});\n";

static const char *content_type_of(const char *name)
{
    static const struct {
        const char *suffix, *type;
    } types[] = {
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".png", "image/png"},
    };
    size_t len = strlen(name);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        size_t n = strlen(types[i].suffix);
        if (len > n && strcmp(name + len - n, types[i].suffix) == 0)
            return types[i].type;
    }
    return "application/octet-stream";
}

static void serve_page(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)req;
    const char *page = ctx ? ctx : missing_page;
    /* Revalidate the page each time: it names the assets' version, which a rebuild changes. */
    http_res_header(res, "Cache-Control", "no-cache");
    http_res_header(res, "X-Content-Type-Options", "nosniff");
    http_res_body(res, 200, "text/html; charset=utf-8", page, strlen(page));
}

static void immutable(struct http_res *res)
{
    http_res_header(res, "Cache-Control", "public, max-age=31536000, immutable");
    http_res_header(res, "X-Content-Type-Options", "nosniff");
}

static void serve_asset(struct http_req *req, struct http_res *res, void *ctx)
{
    (void)ctx;
    const char *name = http_req_param(req, "asset");
    if (name && swagger_ui_count > 0 && strcmp(name, "init.js") == 0) {
        immutable(res);
        http_res_body(res, 200, content_type_of(name), init_js, sizeof init_js - 1);
        return;
    }
    for (size_t i = 0; name && i < swagger_ui_count; i++) {
        if (strcmp(swagger_ui_names[i], name) == 0) {
            immutable(res);
            http_res_body(res, 200, content_type_of(name), swagger_ui_data[i], swagger_ui_lens[i]);
            return;
        }
    }
    problem_send(res, 404,
                 swagger_ui_count > 0 ? "there is no such file in the API docs"
                                      : "Swagger UI is not installed: see GET /docs");
}

int docs_register(struct app *app)
{
    char *page = NULL;
    if (swagger_ui_count > 0 && have_asset("swagger-ui-bundle.js") &&
        have_asset("swagger-ui.css")) {
        page = render_page();
        if (!page)
            return ERR_NOMEM;
        int rc = app_defer(app, free, page);
        if (rc != 0)
            return rc;
    }
    int rc = http_route(app_http(app), "GET", "/docs", serve_page, page, 0);
    return rc != 0 ? rc : http_route(app_http(app), "GET", "/docs/{asset}", serve_asset, NULL, 0);
}
