/*
 * cmd_session.c - the session with a havend server: login, logout, whoami
 * and enrol (`haven --server URL ...`, remote.h).  A password or code is
 * read from the terminal without echo, or one line from standard input
 * (--password-stdin): never from the arguments, never printed or stored;
 * the token goes to the token file, never to the output.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "remote.h"

#define SECRET_MAX 1024

/* `haven: CMD: needs --server (or HAVEN_SERVER)`: 64. */
static int needs_server(const char *cmd)
{
    return cli_usage_error(cmd, "needs --server (or HAVEN_SERVER)");
}

/* Removes a final "\n" or "\r\n" of buf. */
static void chomp(char *buf)
{
    size_t n = strlen(buf);
    while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
}

/* Reads one line from standard input into buf (size bytes).  0, or 64
 * after printing. */
static int secret_from_stdin(const char *cmd, char *buf, size_t size)
{
    if (!fgets(buf, (int)size, stdin))
        return cli_usage_error(cmd, "nothing on standard input (--password-stdin)");
    if (!strchr(buf, '\n') && !feof(stdin))
        return cli_usage_error(cmd, "the line on standard input is too long");
    chomp(buf);
    return 0;
}

/* Asks prompt on the terminal and reads a line into buf without echo
 * (Ctrl-C cancels: the terminal is restored, then SIGINT).  0, or 64 after
 * printing. */
static int secret_from_tty(const char *cmd, const char *prompt, char *buf, size_t size)
{
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    struct termios old, quiet;
    if (fd < 0 || tcgetattr(fd, &old) != 0) {
        if (fd >= 0)
            close(fd);
        return cli_usage_error(cmd, "no terminal to ask on (use --password-stdin)");
    }
    quiet = old;
    quiet.c_lflag &= ~(tcflag_t)(ECHO | ISIG);
    quiet.c_lflag |= ICANON;
    size_t n = 0;
    int cancelled = 0, ok = tcsetattr(fd, TCSAFLUSH, &quiet) == 0;
    if (ok && write(fd, prompt, strlen(prompt)) < 0)
        ok = 0;
    for (char c; ok;) {
        ssize_t r = read(fd, &c, 1);
        if (r <= 0 || c == '\n')
            break;
        if (c == 3) { /* Ctrl-C, with ISIG off */
            cancelled = 1;
            break;
        }
        if (n + 1 < size)
            buf[n++] = c;
    }
    buf[n] = '\0';
    tcsetattr(fd, TCSAFLUSH, &old);
    if (write(fd, "\n", 1) < 0)
        ok = 0;
    close(fd);
    if (cancelled) {
        explicit_bzero(buf, size);
        raise(SIGINT);
        return cli_usage_error(cmd, "cancelled");
    }
    chomp(buf);
    return ok ? 0 : cli_usage_error(cmd, "cannot use the terminal (use --password-stdin)");
}

/* Reads a secret: from stdin when from_stdin, else on the terminal after
 * prompt.  An empty one is refused.  0, or 64 after printing. */
static int read_secret(const char *cmd, const char *prompt, int from_stdin, char *buf,
                       size_t size)
{
    int code = from_stdin ? secret_from_stdin(cmd, buf, size)
                          : secret_from_tty(cmd, prompt, buf, size);
    if (!code && !buf[0])
        code = cli_usage_error(cmd, "an empty answer");
    return code;
}

/* The arguments of login and enrol: LOGIN [--password-stdin] [--code C]. */
typedef struct {
    const char *login, *code;
    int password_stdin;
} session_args;

/* Reads cmd's arguments into a (--code only when with_code).  0, or 64
 * after printing. */
static int parse_session(const char *cmd, int argc, char **argv, int with_code,
                         session_args *a)
{
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--password-stdin"))
            a->password_stdin = 1;
        else if (with_code && !strcmp(argv[i], "--code") && i + 1 < argc)
            a->code = argv[++i];
        else if (argv[i][0] == '-' || a->login)
            return cli_usage_error(cmd, with_code ? "use 'enrol LOGIN [--code CODE] "
                                                    "[--password-stdin]'"
                                                  : "use 'login LOGIN [--password-stdin]'");
        else
            a->login = argv[i];
    }
    if (!a->login)
        return cli_usage_error(cmd, "give your LOGIN");
    return 0;
}

/* POST /v1/login with login and password; stores the token and prints who
 * is logged in (its JSON with --json).  Returns the exit code. */
static int do_login(const cli_globals *g, cli_server *s, const char *login,
                    const char *password)
{
    json_t *body = json_pack("{s:s, s:s}", "login", login, "password", password);
    json_t *answer = NULL;
    long http;
    if (!body)
        return cli_fail(HV_INVALID, "login", "the login or password is not UTF-8 text");
    int code = cli_server_call(s, "POST", "/v1/login", body, 0, &answer, &http);
    json_decref(body);
    if (!code)
        code = cli_server_failed(s, answer, http);
    const char *token = json_string_value(json_object_get(answer, "token"));
    if (!code && !token)
        code = cli_fail(HV_INTERNAL, cli_server_url(s), "no token in the answer");
    if (!code)
        code = cli_token_store(cli_server_url(s), token);
    if (!code) {
        json_object_del(answer, "token");
        if (g->json) {
            code = cli_print_json(json_incref(answer));
        } else {
            const char *role = json_string_value(json_object_get(answer, "role"));
            const char *until = json_string_value(json_object_get(answer, "expires"));
            printf("logged in to %s as %s (%s) until %s\n", cli_server_url(s), login,
                   role ? role : "?", until ? until : "?");
        }
    }
    json_decref(answer);
    return code;
}

/* haven --server URL login LOGIN [--password-stdin] */
static int cmd_login(const cli_globals *g, int argc, char **argv)
{
    session_args a = {0};
    cli_server *s = NULL;
    char password[SECRET_MAX];
    int code;
    if (!g->server)
        return needs_server("login");
    if ((code = parse_session("login", argc, argv, 0, &a)) ||
        (code = cli_server_open(g->server, &s)))
        return code;
    code = read_secret("login", "Password: ", a.password_stdin, password, sizeof password);
    if (!code)
        code = do_login(g, s, a.login, password);
    explicit_bzero(password, sizeof password);
    cli_server_free(s);
    return code;
}

/* haven --server URL logout: revokes the token on the server, then forgets
 * it here even when the server refused (expired, revoked). */
static int cmd_logout(const cli_globals *g, int argc, char **argv)
{
    cli_server *s = NULL;
    json_t *answer = NULL;
    long http = 0;
    int code;
    (void)argv;
    if (!g->server)
        return needs_server("logout");
    if (argc)
        return cli_usage_error("logout", "takes no arguments");
    if ((code = cli_server_open(g->server, &s)))
        return code;
    if (!cli_server_has_token(s)) {
        printf("not logged in to %s\n", cli_server_url(s));
        cli_server_free(s);
        return 0;
    }
    json_t *body = json_object();
    code = cli_server_call(s, "POST", "/v1/logout", body, 1, &answer, &http);
    json_decref(body);
    int refused = code || (http < 200 || http >= 300);
    code = cli_token_store(cli_server_url(s), NULL);
    if (!code && g->json)
        code = cli_print_json(json_pack("{s:s, s:b}", "server", cli_server_url(s),
                                        "revoked", !refused));
    else if (!code)
        printf("logged out of %s%s\n", cli_server_url(s),
               refused ? " (the token is forgotten here; the server did not take it back)"
                       : "");
    json_decref(answer);
    cli_server_free(s);
    return code;
}

/* haven [--server URL] whoami: who the server takes you for (without
 * --server: the local acting user of --as, HAVEN_USER or USER). */
static int cmd_whoami(const cli_globals *g, int argc, char **argv)
{
    cli_server *s = NULL;
    json_t *answer = NULL;
    long http = 0;
    int code;
    (void)argv;
    if (argc)
        return cli_usage_error("whoami", "takes no arguments");
    if (!g->server) {
        if (g->json)
            return cli_print_json(json_pack("{s:s, s:s}", "user", g->as, "via", "local"));
        printf("%s (local: --as, HAVEN_USER or USER)\n", g->as);
        return 0;
    }
    if ((code = cli_server_open(g->server, &s)))
        return code;
    code = cli_server_call(s, "GET", "/v1/whoami", NULL, 1, &answer, &http);
    if (!code)
        code = cli_server_failed(s, answer, http);
    if (!code && g->json) {
        code = cli_print_json(json_incref(answer));
    } else if (!code) {
        const char *user = json_string_value(json_object_get(answer, "user"));
        const char *role = json_string_value(json_object_get(answer, "role"));
        const char *via = json_string_value(json_object_get(answer, "via"));
        printf("%s (%s) via %s\n", user ? user : "?", role ? role : "?", via ? via : "?");
    }
    json_decref(answer);
    cli_server_free(s);
    return code;
}

/* Asks the enrolment code (unless a->code) and the new password (twice on
 * the terminal; with --password-stdin, the code and the password are two
 * lines on stdin, so neither is on a command line) into code and
 * password.  0 or 64. */
static int ask_enrolment(const session_args *a, char *code, char *password, size_t size)
{
    char again[SECRET_MAX];
    int rc = 0;
    if (a->code) {
        if (strlen(a->code) >= size)
            return cli_usage_error("enrol", "--code: too long");
        strcpy(code, a->code);
    } else if ((rc = read_secret("enrol", "Enrolment code: ", a->password_stdin, code,
                                 size))) {
        return rc;
    }
    rc = read_secret("enrol", "New password: ", a->password_stdin, password, size);
    if (!rc && !a->password_stdin) {
        rc = read_secret("enrol", "Repeat the password: ", 0, again, sizeof again);
        if (!rc && strcmp(again, password))
            rc = cli_usage_error("enrol", "the two passwords differ");
        explicit_bzero(again, sizeof again);
    }
    return rc;
}

/* haven --server URL enrol LOGIN [--code CODE] [--password-stdin]: sets
 * the password with the administrator's one-time code, then logs in. */
static int cmd_enrol(const cli_globals *g, int argc, char **argv)
{
    session_args a = {0};
    cli_server *s = NULL;
    char code_text[SECRET_MAX], password[SECRET_MAX];
    json_t *body = NULL, *answer = NULL;
    long http;
    int code;
    if (!g->server)
        return needs_server("enrol");
    if ((code = parse_session("enrol", argc, argv, 1, &a)) ||
        (code = cli_server_open(g->server, &s)))
        return code;
    code = ask_enrolment(&a, code_text, password, sizeof password);
    if (!code && !(body = json_pack("{s:s, s:s, s:s}", "login", a.login, "code", code_text,
                                    "password", password)))
        code = cli_fail(HV_INVALID, "enrol", "the login, code or password is not UTF-8 "
                                             "text");
    explicit_bzero(code_text, sizeof code_text);
    if (!code)
        code = cli_server_call(s, "POST", "/v1/enrol", body, 0, &answer, &http);
    json_decref(body);
    if (!code)
        code = cli_server_failed(s, answer, http);
    if (!code)
        code = do_login(g, s, a.login, password);
    explicit_bzero(password, sizeof password);
    json_decref(answer);
    cli_server_free(s);
    return code;
}

const cli_command cli_cmd_login = {
    "login", cmd_login, "haven --server URL login LOGIN [--password-stdin]", NULL,
    "Log in to a Haven server: asks your password without echo (or reads one\n"
    "line from standard input with --password-stdin) and keeps the server's\n"
    "short-lived token in $XDG_CONFIG_HOME/haven/tokens (default\n"
    "~/.config/haven, mode 0600).  HAVEN_TOKEN=TOKEN (e.g. your identity\n"
    "provider's) is used instead when set.",
    "log in to a Haven server"};

const cli_command cli_cmd_logout = {
    "logout", cmd_logout, "haven --server URL logout", NULL,
    "Log out of a Haven server: the server revokes the token and it is removed\n"
    "from the token file.",
    "log out of a Haven server"};

const cli_command cli_cmd_whoami = {
    "whoami", cmd_whoami, "haven [--server URL] whoami", NULL,
    "Who you act as: on a server, the user it takes you for and how (token,\n"
    "peer for its Unix socket, oidc); without --server, the acting user of\n"
    "--as, HAVEN_USER or USER.",
    "who you act as"};

const cli_command cli_cmd_enrol = {
    "enrol", cmd_enrol, "haven --server URL enrol LOGIN [--code CODE] [--password-stdin]",
    NULL,
    "Set your password on a Haven server with the one-time code an administrator\n"
    "gave you ('haven user enrol LOGIN'), then log in.  Asks the code and the new\n"
    "password (twice) without echo; --code and --password-stdin (one line) for\n"
    "scripts.  The password has at least 10 characters.",
    "set your password on a server"};
