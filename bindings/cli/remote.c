/*
 * remote.c - `haven --server URL COMMAND ...`: the HTTP client of http.c
 * with its errors printed, writing the token file, and POST /v1/run with
 * the files a command reads and writes (remote.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "curllib.h"
#include "remote.h"

#define MAX_INPUT_BYTES (4 * 1024 * 1024)       /* a file, as cli_read_input */
#define MAX_INPUTS_BYTES (64 * 1024 * 1024)     /* every file of a request */

/* ---- http.c, printing its errors ------------------------------------------ */

int cli_server_open(const char *url, cli_server **out)
{
    char err[512];
    int code = cli_http_open(url, NULL, out, err, sizeof err);
    if (code)
        fprintf(cli_err(), "haven: %s\n", err);
    return code;
}

int cli_server_call(cli_server *s, const char *method, const char *path,
                    json_t *body, int with_token, json_t **answer, long *http)
{
    char err[1024];
    int code = cli_http_call(s, method, path, body, with_token, answer, http, err,
                             sizeof err);
    if (code)
        fprintf(cli_err(), "haven: %s\n", err);
    return code;
}

int cli_server_failed(const cli_server *s, json_t *answer, long http)
{
    char err[1024];
    int code = cli_http_failed(s, answer, http, err, sizeof err);
    if (code)
        fprintf(cli_err(), "haven: %s\n", err);
    return code;
}

/* ---- writing the token file --------------------------------------------- */

/* Makes dir (and its parent) mode 0700 if missing, and makes it 0700 if it
 * is the user's.  0, or -1 with errno. */
static int make_private_dir(const char *dir)
{
    char parent[PATH_MAX];
    const char *slash = strrchr(dir, '/');
    if (slash && slash != dir && (size_t)(slash - dir) < sizeof parent) {
        memcpy(parent, dir, (size_t)(slash - dir));
        parent[slash - dir] = '\0';
        if (mkdir(parent, 0700) != 0 && errno != EEXIST)
            return -1;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (lstat(dir, &st) != 0)
        return -1;
    if (!S_ISDIR(st.st_mode) || st.st_uid != getuid()) {
        errno = EPERM;
        return -1;
    }
    return (st.st_mode & 077) ? chmod(dir, 0700) : 0;
}

/* Writes the file's lines but url's, then "url token" when token is not
 * NULL, to the open temporary file fd.  0 or -1. */
static int write_tokens(int fd, const char *old, const char *url, const char *token)
{
    size_t n = strlen(url);
    FILE *f = fdopen(fd, "w");
    if (!f) {
        close(fd);
        return -1;
    }
    for (const char *line = old; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len && !(len > n && !strncmp(line, url, n) && line[n] == ' '))
            fprintf(f, "%.*s\n", (int)len, line);
        line = end ? end + 1 : NULL;
    }
    if (token)
        fprintf(f, "%s %s\n", url, token);
    int bad = fflush(f) != 0 || ferror(f) || fsync(fd) != 0;
    bad |= fclose(f) != 0;
    return bad ? -1 : 0;
}

/* cli_token_store in the folder dir; 0 or -1 with errno. */
static int store_in(const char *dir, const char *url, const char *token)
{
    char *path = NULL, *tmp = NULL, *lock = NULL, *old = NULL;
    int lock_fd = -1, fd, rc = -1;
    if (asprintf(&path, "%s/tokens", dir) < 0 || asprintf(&lock, "%s/tokens.lock", dir) < 0 ||
        asprintf(&tmp, "%s/tokens.XXXXXX", dir) < 0) {
        errno = ENOMEM;
        goto done;
    }
    lock_fd = open(lock, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (lock_fd < 0 || flock(lock_fd, LOCK_EX) != 0)
        goto done;
    int old_fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (old_fd >= 0) {
        old = cli_token_read_file(old_fd, path);
        close(old_fd);
    }
    if ((fd = mkstemp(tmp)) < 0) /* mode 0600 */
        goto done;
    if (fchmod(fd, 0600) != 0) {
        close(fd);
        unlink(tmp);
        goto done;
    }
    if (write_tokens(fd, old, url, token) != 0) { /* closes fd */
        unlink(tmp);
        goto done;
    }
    if (rename(tmp, path) != 0) {
        unlink(tmp);
        goto done;
    }
    rc = 0;
done:
    if (old) {
        explicit_bzero(old, strlen(old));
        free(old);
    }
    if (lock_fd >= 0)
        close(lock_fd);
    free(path);
    free(tmp);
    free(lock);
    return rc;
}

int cli_token_store(const char *url, const char *token)
{
    char *dir = cli_token_dir();
    if (!dir)
        return cli_fail(HV_CANTCREATE, "tokens", "neither XDG_CONFIG_HOME nor HOME is set");
    if (token && !cli_token_ok(token)) {
        free(dir);
        return cli_fail(HV_INTERNAL, url, "the server's token is not a token");
    }
    int rc = make_private_dir(dir);
    if (rc == 0)
        rc = store_in(dir, url, token);
    if (rc != 0) {
        fprintf(stderr, "haven: %s/tokens: cannot write: %s\n", dir, strerror(errno));
        free(dir);
        return hv_status_exit_code(HV_CANTCREATE);
    }
    free(dir);
    return 0;
}

/* ---- the files of a command ------------------------------------------------- */

/* The files a command's arguments name. */
typedef struct {
    json_t *inputs;   /* PATH -> content of each file it reads */
    const char **out; /* the paths it may write (typed in argv) */
    int nout;
    int exclusive;    /* audit checkpoint --out: a new file, never over one */
    size_t total;     /* bytes of inputs */
    int code;         /* the first error's exit code (printed) */
} run_files;

/* Reads at most MAX_INPUT_BYTES + 1 bytes of f (the server reports a file
 * over the limit as the command would) into malloc'd *out; its length, or
 * -1. */
static long read_stream(FILE *f, char **out)
{
    char *buf = malloc(MAX_INPUT_BYTES + 1);
    size_t n = buf ? fread(buf, 1, MAX_INPUT_BYTES + 1, f) : 0;
    if (!buf || ferror(f)) {
        free(buf);
        return -1;
    }
    *out = buf;
    return (long)n;
}

/* Adds the content of the file (or of stdin, for "-") at path under key. */
static void add_file(run_files *rf, const char *key, const char *path)
{
    if (rf->code || json_object_get(rf->inputs, key))
        return;
    FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
    char *text = NULL;
    if (!f) /* missing: the server says so, in the command's order */
        return;
    long n = read_stream(f, &text);
    if (f != stdin)
        fclose(f);
    if (n < 0)
        return;
    rf->total += (size_t)n;
    json_t *v = json_stringn(text, (size_t)n);
    free(text);
    if (rf->total > MAX_INPUTS_BYTES) {
        json_decref(v);
        rf->code = cli_fail(HV_INVALID, path, "the files of this command are larger "
                                              "than a request may be");
    } else if (!v) {
        rf->code = cli_fail(HV_INVALID, path, "not UTF-8 text (cannot be sent to the "
                                              "server)");
    } else if (json_object_set_new(rf->inputs, key, v) != 0) {
        rf->code = cli_fail_status(HV_NOMEM, NULL);
    }
}

/* Adds what path names: a file, or stdin ("-").  A folder is never read:
 * no command takes one over --server (the server refuses them), so nothing
 * of it leaves this machine. */
static void add_input(run_files *rf, const char *path)
{
    struct stat st;
    if (strcmp(path, "-") && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
        return;
    add_file(rf, path, path);
}

/* 1 if a (an argument) is one of the NULL-terminated names. */
static int is_one_of(const char *a, const char *const *names)
{
    for (; *names; names++)
        if (!strcmp(a, *names))
            return 1;
    return 0;
}

/* Finds the files argv names (argv[0] the command): --json-in FILE and
 * --checkpoint FILE read, --out PATH and --html FILE write, and the
 * operands of import FILE and workflow check|graph FILE are read.  (rules
 * check|test|reload|diff|apply DIR are refused by the server: their
 * folders are not read.) */
static void scan_files(int argc, char **argv, run_files *rf)
{
    static const char *const reads[] = {"--json-in", "--checkpoint", NULL};
    static const char *const writes[] = {"--out", "--html", NULL};
    static const char *const valued[] = {"--format", "--hooks", "--since", "--until",
                                         "--override", "--expect-version", NULL};
    const char *cmd = argv[0];
    int first = !strcmp(cmd, "import") ? 1
                : !strcmp(cmd, "workflow") ? 2
                                           : argc;
    for (int i = 1; i < argc && !rf->code; i++) {
        const char *a = argv[i];
        if (is_one_of(a, reads) && i + 1 < argc) {
            add_input(rf, argv[++i]);
        } else if (is_one_of(a, writes) && i + 1 < argc) {
            rf->out[rf->nout++] = argv[++i];
            rf->exclusive |= !strcmp(cmd, "audit") && !strcmp(a, "--out");
        } else if (is_one_of(a, valued) && i + 1 < argc) {
            i++;
        } else if (i >= first && (a[0] != '-' || !strcmp(a, "-"))) {
            add_input(rf, a);
        }
    }
}

/* 1 if the server may write key: exactly a path typed after --out or
 * --html (a server never picks a file name the user did not type). */
static int output_allowed(const run_files *rf, const char *key)
{
    for (int i = 0; i < rf->nout; i++)
        if (!strcmp(key, rf->out[i]))
            return 1;
    return 0;
}

/* Writes text (n bytes) to path through a temporary file beside it: renamed
 * over it, or linked as a new file when exclusive.  0 or the exit code
 * after printing. */
static int write_output(const char *path, const char *text, size_t n, int exclusive)
{
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmpXXXXXX", path) < 0)
        return cli_fail_status(HV_NOMEM, NULL);
    int fd = mkstemp(tmp), err;
    if (fd < 0) {
        err = errno;
        free(tmp);
        fprintf(stderr, "haven: %s: cannot create: %s\n", path, strerror(err));
        return hv_status_exit_code(HV_CANTCREATE);
    }
    int bad = fchmod(fd, exclusive ? 0644 : 0600) != 0;
    for (size_t done = 0; !bad && done < n;) {
        ssize_t w = write(fd, text + done, n - done);
        if (w < 0 && errno == EINTR)
            continue;
        bad = w <= 0;
        done += bad ? 0 : (size_t)w;
    }
    bad |= fsync(fd) != 0;
    err = errno;
    bad |= close(fd) != 0;
    if (!bad && exclusive) {
        bad = link(tmp, path) != 0;
        err = errno;
        unlink(tmp);
    } else if (!bad) {
        bad = rename(tmp, path) != 0;
        err = errno;
    }
    if (bad) {
        unlink(tmp);
        free(tmp);
        if (exclusive && err == EEXIST)
            return cli_fail_status(HV_CANTCREATE, "audit checkpoint: --out: the file "
                                                  "exists already");
        fprintf(stderr, "haven: %s: cannot write: %s\n", path, strerror(err));
        return hv_status_exit_code(HV_IOERR);
    }
    free(tmp);
    return 0;
}

/* Writes the answer's outputs that rf allows (a folder typed after --out is
 * made, mode 0700); warns of and skips any other.  0 or the first exit
 * code. */
static int write_outputs(const cli_server *s, const run_files *rf, json_t *outputs)
{
    const char *key;
    json_t *v;
    int code = 0;
    json_object_foreach(outputs, key, v) {
        if (!json_is_string(v) || !output_allowed(rf, key)) {
            fprintf(stderr, "haven: %s: sent a file not asked for: ignored\n", cli_server_url(s));
            continue;
        }
        int c = write_output(key, json_string_value(v), json_string_length(v),
                             rf->exclusive);
        if (!code)
            code = c;
    }
    return code;
}

/* ---- POST /v1/run ----------------------------------------------------------- */

/* Writes a server's text to f as it is, except on a terminal: there
 * control characters but newline and tab (C0, DEL, and C1 as UTF-8) become
 * '?', so a server cannot drive the user's terminal. */
static void put_answer(FILE *f, const char *text, size_t n)
{
    if (!isatty(fileno(f))) {
        fwrite(text, 1, n, f);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == 0xc2 && i + 1 < n && (unsigned char)text[i + 1] >= 0x80 &&
            (unsigned char)text[i + 1] <= 0x9f) {
            fputc('?', f);
            i++;
        } else if ((ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f) {
            fputc('?', f);
        } else {
            fputc(ch, f);
        }
    }
}

/* Prints the run answer and writes its outputs; returns its exit code. */
static int finish_run(const cli_server *s, const run_files *rf, json_t *answer, long http)
{
    json_t *ex = json_object_get(answer, "exit");
    json_t *out = json_object_get(answer, "stdout"), *err = json_object_get(answer, "stderr");
    if (json_object_get(answer, "error") || !json_is_integer(ex)) {
        int code = cli_server_failed(s, answer, http);
        return code ? code : cli_fail(HV_INTERNAL, cli_server_url(s), "not a Haven server's answer");
    }
    int code = write_outputs(s, rf, json_object_get(answer, "outputs"));
    if (json_is_string(out))
        put_answer(stdout, json_string_value(out), json_string_length(out));
    fflush(stdout);
    if (json_is_string(err))
        put_answer(stderr, json_string_value(err), json_string_length(err));
    json_int_t exit_code = json_integer_value(ex);
    if (code)
        return code;
    return exit_code >= 0 && exit_code < 256 ? (int)exit_code
                                             : hv_status_exit_code(HV_INTERNAL);
}

/* Sends the command argv to s's /v1/run; returns the exit code. */
static int remote_run(cli_server *s, const cli_globals *g, int argc, char **argv)
{
    run_files rf = {json_object(), calloc((size_t)argc, sizeof(char *)), 0, 0, 0, 0};
    json_t *args = json_array(), *body = NULL, *answer = NULL;
    struct stat st;
    long http = 0;
    int code = 0;
    if (!rf.inputs || !rf.out || !args) {
        code = cli_fail_status(HV_NOMEM, NULL);
        goto done;
    }
    for (int i = 0; i < argc; i++)
        if (json_array_append_new(args, json_string(argv[i])) != 0) {
            code = cli_fail(HV_INVALID, "arguments", "not UTF-8 text");
            goto done;
        }
    scan_files(argc, argv, &rf);
    if ((code = rf.code))
        goto done;
    if (rf.exclusive && rf.nout && lstat(rf.out[0], &st) == 0) {
        code = cli_fail_status(HV_CANTCREATE, "audit checkpoint: --out: the file exists "
                                              "already");
        goto done;
    }
    body = json_pack("{s:O, s:b, s:s?, s:O}", "argv", args, "json", g->json, "purpose",
                     g->purpose, "inputs", rf.inputs);
    if (!body) {
        code = cli_fail_status(HV_NOMEM, NULL);
        goto done;
    }
    if ((code = cli_server_call(s, "POST", "/v1/run", body, 1, &answer, &http)))
        goto done;
    code = finish_run(s, &rf, answer, http);
done:
    json_decref(answer);
    json_decref(body);
    json_decref(args);
    json_decref(rf.inputs);
    free(rf.out);
    return code;
}

/* Run here, not on the server: the session commands, and the REPL (its
 * engine is the server's, lremote.c). */
static const cli_command *const session_commands[] = {
    &cli_cmd_login, &cli_cmd_logout, &cli_cmd_whoami, &cli_cmd_enrol, &cli_cmd_repl,
};

int cli_remote_main(const char *server, const cli_globals *g, int argc, char **argv)
{
    cli_server *s = NULL;
    int code;
    if (g->as_given)
        return cli_usage_error("--as", "not over --server (the server knows who you are)");
    if (g->now_text)
        return cli_usage_error("--now", "not over --server (the server's clock is the "
                                        "only clock)");
    if (g->db_given)
        return cli_usage_error("--db", "not over --server (the server has its database)");
    char why[400];
    hv_status started = cli_http_start(why, sizeof why); /* loads libcurl */
    if (started != HV_OK)
        return cli_fail(started, "--server", why);
    for (size_t i = 0; i < sizeof session_commands / sizeof *session_commands; i++)
        if (argc > 0 && !strcmp(argv[0], session_commands[i]->name)) {
            code = session_commands[i]->run(g, argc - 1, argv + 1);
            cli_http_stop();
            return code;
        }
    if ((code = cli_server_open(server, &s)) == 0)
        code = remote_run(s, g, argc, argv);
    cli_server_free(s);
    cli_http_stop();
    return code;
}
