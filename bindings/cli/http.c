/*
 * http.c - the client side of havend shared by the front ends (http.h):
 * the server's URL, one HTTP request with libcurl, the answer's failure,
 * and reading the token file.  Prints nothing but a warning about an
 * unsafe token file: errors come back as a one-line message and an exit
 * code, which the command line prints (remote.c) and the Lua module
 * returns (haven.connect).
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "curllib.h"
#include "haven.h"
#include "http.h"

#define MAX_ANSWER_BYTES (1024L * 1024 * 1024)  /* an answer */
#define MAX_TOKEN_LEN 8192


struct cli_server {
    char *url;    /* as typed, without a final '/' */
    char *base;   /* what paths are appended to */
    char *socket; /* unix:PATH's path, or NULL */
    int local;    /* a Unix socket or the loopback: no proxy */
    char *token;  /* the bearer token, or NULL */
};

/* Writes the message (printf format) in err and returns st's exit code. */
static int http_fail(char *err, size_t errlen, hv_status st, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int http_fail(char *err, size_t errlen, hv_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (err && errlen)
        vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return hv_status_exit_code(st);
}

/* ---- the URL ---------------------------------------------------------------- */

/* 1 if host[0..n) is a host name or an address in brackets. */
static int host_ok(const char *host, size_t n)
{
    if (n == 0 || n > 253)
        return 0;
    if (host[0] == '[') {
        if (n < 3 || host[n - 1] != ']')
            return 0;
        for (size_t i = 1; i + 1 < n; i++)
            if (!isxdigit((unsigned char)host[i]) && host[i] != ':' && host[i] != '.')
                return 0;
        return 1;
    }
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)host[i]) && host[i] != '.' && host[i] != '-')
            return 0;
    return host[0] != '-' && host[0] != '.';
}

/* Checks "HOST[:PORT]" of an http(s) URL; sets *host_len.  1 if good. */
static int authority_ok(const char *a, size_t *host_len)
{
    const char *colon = a[0] == '[' ? strchr(a, ']') : a;
    if (!colon)
        return 0;
    colon = strchr(colon, ':');
    size_t n = colon ? (size_t)(colon - a) : strlen(a);
    *host_len = n;
    if (!host_ok(a, n))
        return 0;
    if (!colon)
        return 1;
    const char *p = colon + 1;
    if (!*p || strlen(p) > 5)
        return 0;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return 0;
    long port = strtol(p, NULL, 10);
    return port >= 1 && port <= 65535;
}

/* Fills s from url; 0, or the exit code (64) with the message in err. */
static int parse_url(cli_server *s, const char *url, char *err, size_t errlen)
{
    static const char *const forms = "not unix:PATH, https://HOST[:PORT] or "
                                     "http://127.0.0.1:PORT";
    size_t n = strlen(url);
    if (n == 0 || n > 4096)
        return http_fail(err, errlen, HV_USAGE, "--server: %s", forms);
    if (!(s->url = strdup(url)))
        return http_fail(err, errlen, HV_NOMEM, "%s", hv_strerror(HV_NOMEM));
    if (!strncmp(url, "unix:", 5)) {
        if (!url[5])
            return http_fail(err, errlen, HV_USAGE, "--server: unix: needs the "
                                                     "socket's PATH");
        s->socket = strdup(url + 5);
        s->base = strdup("http://localhost");
        s->local = 1;
        return s->socket && s->base ? 0 : http_fail(err, errlen, HV_NOMEM, "%s",
                                                    hv_strerror(HV_NOMEM));
    }
    while (n > 1 && s->url[n - 1] == '/')
        s->url[--n] = '\0';
    int https = !strncmp(s->url, "https://", 8);
    if (!https && strncmp(s->url, "http://", 7))
        return http_fail(err, errlen, HV_USAGE, "--server: %s", forms);
    const char *auth = s->url + (https ? 8 : 7);
    size_t host_len;
    if (!authority_ok(auth, &host_len))
        return http_fail(err, errlen, HV_USAGE, "--server: %s", forms);
    if (!https) {
        if (!((host_len == 9 && !strncmp(auth, "127.0.0.1", 9)) ||
              (host_len == 5 && !strncmp(auth, "[::1]", 5))))
            return http_fail(err, errlen, HV_USAGE, "--server: plain http only to "
                                                     "127.0.0.1 or [::1] (use https://)");
        s->local = 1;
    }
    s->base = strdup(s->url);
    return s->base ? 0 : http_fail(err, errlen, HV_NOMEM, "%s", hv_strerror(HV_NOMEM));
}

int cli_token_ok(const char *token)
{
    size_t n = strlen(token);
    if (n == 0 || n > MAX_TOKEN_LEN)
        return 0;
    for (const char *p = token; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("-._~+/=", *p))
            return 0;
    return 1;
}

int cli_http_open(const char *url, const char *token, cli_server **out, char *err,
                  size_t errlen)
{
    cli_server *s = calloc(1, sizeof *s);
    *out = NULL;
    if (!s)
        return http_fail(err, errlen, HV_NOMEM, "%s", hv_strerror(HV_NOMEM));
    int code = parse_url(s, url, err, errlen);
    const char *env = getenv("HAVEN_TOKEN"), *what = token ? "token" : "HAVEN_TOKEN";
    if (!token && env && *env)
        token = env;
    if (!code && token) {
        if (!cli_token_ok(token))
            code = http_fail(err, errlen, HV_USAGE, "%s: not a token", what);
        else if (!(s->token = strdup(token)))
            code = http_fail(err, errlen, HV_NOMEM, "%s", hv_strerror(HV_NOMEM));
    } else if (!code) {
        s->token = cli_token_load(s->url);
    }
    if (code) {
        cli_server_free(s);
        return code;
    }
    *out = s;
    return 0;
}

void cli_server_free(cli_server *s)
{
    if (!s)
        return;
    if (s->token) {
        explicit_bzero(s->token, strlen(s->token));
        free(s->token);
    }
    free(s->url);
    free(s->base);
    free(s->socket);
    free(s);
}

const char *cli_server_url(const cli_server *s)
{
    return s->url;
}

int cli_server_has_token(const cli_server *s)
{
    return s->token != NULL;
}

int cli_server_is_socket(const cli_server *s)
{
    return s->socket != NULL;
}

/* ---- HTTP ----------------------------------------------------------------- */

/* An answer being received. */
typedef struct {
    char *data;
    size_t len, cap;
    int too_big;
} answer_buf;

/* libcurl's write callback: appends to the answer_buf. */
static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    answer_buf *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n > (size_t)MAX_ANSWER_BYTES) {
        b->too_big = 1;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *d = realloc(b->data, cap);
        if (!d)
            return 0;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* Sets the options every request has on c; 0 or a CURLcode. */
static CURLcode set_common(CURL *c, const cli_server *s, char *errbuf)
{
    CURLcode rc = CURLE_OK;
    const char *ca = getenv("HAVEN_CA_FILE");
#define SET(opt, val) \
    if (rc == CURLE_OK) \
        rc = curl_easy_setopt(c, opt, val)
    SET(CURLOPT_ERRORBUFFER, errbuf);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_CONNECTTIMEOUT, 10L);
    SET(CURLOPT_TIMEOUT, 300L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_USERAGENT, "haven/" HV_VERSION_STRING);
    if (s->local)
        SET(CURLOPT_PROXY, "");
    if (s->socket)
        SET(CURLOPT_UNIX_SOCKET_PATH, s->socket);
    if (ca && *ca)
        SET(CURLOPT_CAINFO, ca);
#undef SET
    return rc;
}

int cli_http_exit_of_status(long http)
{
    switch (http) {
    case 400: return 64;
    case 401: case 403: return 77;
    case 404: return 69;
    case 413: case 422: return 65;
    case 503: return 75;
    default: return http >= 200 && http < 300 ? 0 : 70;
    }
}

/* Parses the answer b (HTTP status http) into *answer; 0 or the exit code
 * with the message in err. */
static int parse_answer(const cli_server *s, answer_buf *b, long http, json_t **answer,
                        char *err, size_t errlen)
{
    json_error_t jerr;
    json_t *v = b->data ? json_loadb(b->data, b->len, 0, &jerr) : NULL;
    if (!json_is_object(v)) {
        json_decref(v);
        return http_fail(err, errlen, HV_INTERNAL, "%s: not a Haven server's answer "
                                                   "(HTTP %ld)", s->url, http);
    }
    *answer = v;
    return 0;
}

int cli_http_call(cli_server *s, const char *method, const char *path, json_t *body,
                  int with_token, json_t **answer, long *http, char *err, size_t errlen)
{
    char errbuf[CURL_ERROR_SIZE] = "", *url = NULL, *auth = NULL, *text = NULL;
    answer_buf b = {0};
    struct curl_slist *headers = NULL;
    CURLcode rc;
    int code = 0;
    *answer = NULL;
    *http = 0;
    if (!cli_curl_ready()) /* cli_http_start was not run */
        return http_fail(err, errlen, HV_INTERNAL, "libcurl is not started");
    CURL *c = curl_easy_init();
    if (!c || asprintf(&url, "%s%s", s->base, path) < 0 ||
        (body && !(text = json_dumps(body, JSON_COMPACT))) ||
        (with_token && s->token && asprintf(&auth, "Authorization: Bearer %s", s->token) < 0)) {
        url = NULL;
        code = http_fail(err, errlen, HV_NOMEM, "%s", hv_strerror(HV_NOMEM));
        goto done;
    }
    headers = curl_slist_append(headers, "Accept: application/json");
    if (body)
        headers = curl_slist_append(headers, "Content-Type: application/json");
    if (auth)
        headers = curl_slist_append(headers, auth);
    rc = set_common(c, s, errbuf);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_URL, url);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    if (rc == CURLE_OK && body)
        rc = curl_easy_setopt(c, CURLOPT_POSTFIELDS, text);
    if (rc == CURLE_OK && !body && strcmp(method, "GET"))
        rc = curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    if (rc == CURLE_OK)
        rc = curl_easy_perform(c);
    if (rc != CURLE_OK && b.too_big) {
        code = http_fail(err, errlen, HV_INVALID, "%s: the answer is larger than %ld "
                                                  "bytes", s->url, MAX_ANSWER_BYTES);
    } else if (rc == CURLE_COULDNT_CONNECT && s->socket) {
        struct stat st;
        code = http_fail(err, errlen, HV_NOTFOUND, "%s: cannot connect: %s", s->url,
                         stat(s->socket, &st) != 0 ? strerror(errno)
                                                   : "nothing listens on the socket "
                                                     "(is havend running?)");
    } else if (rc != CURLE_OK) {
        code = http_fail(err, errlen, HV_NOTFOUND, "%s: cannot connect: %s", s->url,
                         errbuf[0] ? errbuf : curl_easy_strerror(rc));
    } else {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http);
        code = parse_answer(s, &b, *http, answer, err, errlen);
    }
done:
    curl_slist_free_all(headers);
    if (c)
        curl_easy_cleanup(c);
    if (auth) {
        explicit_bzero(auth, strlen(auth));
        free(auth);
    }
    if (text) {
        explicit_bzero(text, strlen(text));
        free(text);
    }
    free(url);
    free(b.data);
    return code;
}

/* Copies text into buf (size bytes) without control characters (a server's
 * message must not drive the terminal). */
static void copy_clean(char *buf, size_t size, const char *text)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && n + 1 < size; p++)
        buf[n++] = *p < 0x20 || *p == 0x7f ? '?' : (char)*p;
    if (size)
        buf[n] = '\0';
}

int cli_http_failed(const cli_server *s, json_t *answer, long http, char *err,
                    size_t errlen)
{
    json_t *msg = json_object_get(answer, "error");
    json_t *ex = json_object_get(answer, "exit");
    if (http >= 200 && http < 300 && !msg)
        return 0;
    int code = json_is_integer(ex) && json_integer_value(ex) > 0 &&
                       json_integer_value(ex) < 256
                   ? (int)json_integer_value(ex)
                   : cli_http_exit_of_status(http);
    if (code == 0)
        code = hv_status_exit_code(HV_INTERNAL);
    char text[400];
    if (json_is_string(msg))
        copy_clean(text, sizeof text, json_string_value(msg));
    else
        snprintf(text, sizeof text, "%.200s: the server answered HTTP %ld", s->url, http);
    /* the hint only where a request needed a login (not on a refused
     * login or enrolment itself, whose answer is the same either way) */
    if (http == 401 && !s->token && !s->socket && json_is_string(msg) &&
        !strncmp(json_string_value(msg), "authentication ", 15))
        snprintf(err, errlen, "%s (log in: haven --server %.200s login LOGIN)", text,
                 s->url);
    else
        snprintf(err, errlen, "%s", text);
    return code;
}

/* ---- the token file ------------------------------------------------------- */

/* The folder of the token file (malloc), or NULL when neither
 * XDG_CONFIG_HOME nor HOME is set. */
char *cli_token_dir(void)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    char *dir = NULL;
    if (xdg && xdg[0] == '/') {
        if (asprintf(&dir, "%s/haven", xdg) < 0)
            dir = NULL;
    } else if (home && *home) {
        if (asprintf(&dir, "%s/.config/haven", home) < 0)
            dir = NULL;
    }
    return dir;
}

/* Reads the token file fd (checked: the user's, mode 0600 or less) into
 * malloc'd text, or NULL with a warning when it is unsafe or unreadable. */
char *cli_token_read_file(int fd, const char *path)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > 1024 * 1024) {
        fprintf(stderr, "haven: %s: not a token file: ignored\n", path);
        return NULL;
    }
    if (st.st_uid != getuid() || (st.st_mode & 077)) {
        fprintf(stderr, "haven: %s: readable by others or not yours: ignored "
                        "(chmod 600 it, then log in again)\n", path);
        return NULL;
    }
    char *text = malloc((size_t)st.st_size + 1);
    ssize_t n = text ? read(fd, text, (size_t)st.st_size) : -1;
    if (n < 0) {
        free(text);
        return NULL;
    }
    text[n] = '\0';
    return text;
}

/* The token of url in the file's text (malloc), or NULL. */
static char *find_token(const char *text, const char *url)
{
    size_t n = strlen(url);
    for (const char *line = text; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > n + 1 && !strncmp(line, url, n) && line[n] == ' ') {
            char *token = strndup(line + n + 1, len - n - 1);
            if (token && cli_token_ok(token))
                return token;
            free(token);
        }
        line = end ? end + 1 : NULL;
    }
    return NULL;
}

char *cli_token_load(const char *url)
{
    char *dir = cli_token_dir(), *path = NULL, *text = NULL, *token = NULL;
    if (!dir || asprintf(&path, "%s/tokens", dir) < 0) {
        free(dir);
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd >= 0) {
        text = cli_token_read_file(fd, path);
        close(fd);
    }
    if (text) {
        token = find_token(text, url);
        explicit_bzero(text, strlen(text));
        free(text);
    }
    free(path);
    free(dir);
    return token;
}
