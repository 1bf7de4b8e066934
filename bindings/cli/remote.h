/*
 * remote.h - `haven --server URL`: the client of havend (issue 16).
 *
 * With --server (or HAVEN_SERVER) every command but login, logout, whoami,
 * enrol and repl (which runs here, on the server's engine) goes to the
 * server's POST /v1/run: the client sends the
 * command's arguments and the content of the files it reads, prints the
 * answer's stdout and stderr as they are, writes the files the server
 * returns (only at paths typed in the arguments) and exits with the
 * answer's exit code.  The acting user is the one the server
 * authenticates: a bearer token from `haven login` (kept in
 * $XDG_CONFIG_HOME/haven/tokens, mode 0600) or HAVEN_TOKEN, or over a Unix
 * socket the peer's OS login.  --as, --now and --db are refused (64).
 *
 * URLs: unix:PATH, https://HOST[:PORT], and plain http only to the
 * loopback (http://127.0.0.1:PORT, http://[::1]:PORT).  TLS is always
 * verified (HAVEN_CA_FILE names a private CA's PEM file).  Cannot
 * connect: 69; an answer that is not Haven's JSON: 70.
 */
#ifndef HV_CLI_REMOTE_H
#define HV_CLI_REMOTE_H

#include <jansson.h>

#include "cli.h"
#include "http.h"

/* Runs the command argv[0] on argv[1..argc) against server with g's
 * globals (--json, --purpose): a session command (login, logout, whoami,
 * enrol) here, any other through POST /v1/run.  Returns the exit code. */
int cli_remote_main(const char *server, const cli_globals *g, int argc, char **argv);

/* The calls of http.h with their errors printed on cli_err() as
 * `haven: ERROR`.  cli_server_open: cli_http_open with the token of
 * HAVEN_TOKEN, else of the token file, else none; 0 or 64. */
int cli_server_open(const char *url, cli_server **out);

/* Sends METHOD path (body: a JSON object, or NULL for none; the token
 * when with_token) and reads the answer.  Returns 0 with *answer (a JSON
 * object, the caller's to json_decref) and *http (the HTTP status), or
 * the exit code after printing the error (69 cannot connect, 70 not
 * Haven's JSON, 65 an answer over the size limit). */
int cli_server_call(cli_server *s, const char *method, const char *path,
                    json_t *body, int with_token, json_t **answer, long *http);
/* When the answer failed (HTTP status not 2xx or an "error" member),
 * prints `haven: ERROR` and returns its exit code (the answer's "exit",
 * else one mapped from the status); else returns 0. */
int cli_server_failed(const cli_server *s, json_t *answer, long http);

/* Replaces the line of url in the token file by "url token" (token NULL:
 * removes it), atomically, making the folder 0700 and the file 0600.
 * Returns 0, or the exit code after printing the error. */
int cli_token_store(const char *url, const char *token);

/* cmd_session.c: login, logout, whoami, enrol. */
extern const cli_command cli_cmd_login, cli_cmd_logout, cli_cmd_whoami, cli_cmd_enrol;

#endif
