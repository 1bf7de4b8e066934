/*
 * remote.h - `haven --server URL`: the client of havend (issue 16).
 *
 * With --server (or HAVEN_SERVER) every command but login, logout, whoami
 * and enrol goes to the server's POST /v1/run: the client sends the
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

/* A server: its URL, how to reach it, and the bearer token to send. */
typedef struct cli_server cli_server;

/* Runs the command argv[0] on argv[1..argc) against server with g's
 * globals (--json, --purpose): a session command (login, logout, whoami,
 * enrol) here, any other through POST /v1/run.  Returns the exit code. */
int cli_remote_main(const char *server, const cli_globals *g, int argc, char **argv);

/* Checks url (see above) and makes *out (free with cli_server_free), with
 * the token of HAVEN_TOKEN, else of the token file, else none.  Returns 0,
 * or 64 after printing `haven: --server: why`. */
int cli_server_open(const char *url, cli_server **out);
void cli_server_free(cli_server *s);
/* The URL as used for the token file and messages (borrowed). */
const char *cli_server_url(const cli_server *s);
/* 1 if s sends a bearer token. */
int cli_server_has_token(const cli_server *s);

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

/* The token stored for url (malloc, the caller frees), or NULL.  A token
 * file readable by others (or not the user's) is ignored with a warning. */
char *cli_token_load(const char *url);
/* Replaces the line of url in the token file by "url token" (token NULL:
 * removes it), atomically, making the folder 0700 and the file 0600.
 * Returns 0, or the exit code after printing the error. */
int cli_token_store(const char *url, const char *token);

/* cmd_session.c: login, logout, whoami, enrol. */
extern const cli_command cli_cmd_login, cli_cmd_logout, cli_cmd_whoami, cli_cmd_enrol;

#endif
