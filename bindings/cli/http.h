/*
 * http.h - the client of havend that the front ends share: the command
 * line (`haven --server URL`, remote.c) and the Lua module
 * (haven.connect{server = URL}, bindings/lua/lremote.c).
 *
 * A server is a URL: unix:PATH, https://HOST[:PORT], or plain http only to
 * the loopback (http://127.0.0.1:PORT, http://[::1]:PORT), with the bearer
 * token to send.  TLS is always verified (HAVEN_CA_FILE names a private
 * CA's PEM file); no proxy for a socket or the loopback; no redirects.
 *
 * Nothing here prints (but the warning about an unsafe token file): a
 * function that fails writes a one-line message (without "haven: ") into
 * err and returns an exit code (64 a bad URL or token, 69 cannot connect,
 * 70 an answer that is not Haven's JSON, 65 one over the size limit).
 * The caller has run cli_http_start (curllib.h: it loads libcurl).
 */
#ifndef HV_CLI_HTTP_H
#define HV_CLI_HTTP_H

#include <stddef.h>

#include <jansson.h>

/* A server: its URL, how to reach it, and the bearer token to send. */
typedef struct cli_server cli_server;

/* Checks url and makes *out (free with cli_server_free) with token when not
 * NULL, else the token of HAVEN_TOKEN, else of the token file, else none.
 * Returns 0, or the exit code (64) with the message in err. */
int cli_http_open(const char *url, const char *token, cli_server **out, char *err,
                  size_t errlen);
void cli_server_free(cli_server *s);
/* The URL as used for the token file and messages (borrowed). */
const char *cli_server_url(const cli_server *s);
/* 1 if s sends a bearer token; 1 if it is reached over a Unix socket. */
int cli_server_has_token(const cli_server *s);
int cli_server_is_socket(const cli_server *s);

/* Sends METHOD path (body: a JSON object, or NULL for none; the token when
 * with_token) and reads the answer.  Returns 0 with *answer (a JSON
 * object, the caller's to json_decref) and *http (the HTTP status), or the
 * exit code with the message in err. */
int cli_http_call(cli_server *s, const char *method, const char *path, json_t *body,
                  int with_token, json_t **answer, long *http, char *err, size_t errlen);
/* When the answer failed (HTTP status not 2xx or an "error" member),
 * writes its message (control characters replaced) in err and returns its
 * exit code (the answer's "exit", else one mapped from the status); else
 * returns 0. */
int cli_http_failed(const cli_server *s, json_t *answer, long http, char *err,
                    size_t errlen);
/* The exit code of an HTTP status (SERVER-SPEC.md's table, reversed). */
int cli_http_exit_of_status(long http);

/* ---- the token file: $XDG_CONFIG_HOME/haven/tokens, "URL TOKEN" lines ---- */

/* The token stored for url (malloc, the caller frees), or NULL.  A token
 * file readable by others (or not the user's) is ignored with a warning. */
char *cli_token_load(const char *url);
/* The token file's folder (malloc), or NULL when neither XDG_CONFIG_HOME
 * nor HOME is set. */
char *cli_token_dir(void);
/* The token file open on fd (checked: the user's, mode 0600 or less) as
 * malloc'd text, or NULL with a warning when unsafe or unreadable. */
char *cli_token_read_file(int fd, const char *path);
/* 1 if token is a plausible bearer token (no space, newline or control). */
int cli_token_ok(const char *token);

#endif
