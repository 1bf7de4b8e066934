/*
 * clihelp.c - `haven --help`, `haven COMMAND --help`, the manual page and
 * the shell completions, all made from the table of commands (clirun.c)
 * and the tables below (clihelp.h).  Nothing here is typed twice: a new
 * command, subcommand or option in the table is in the help, the manual
 * and the completions at once.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clihelp.h"
#include "haven.h"

/* The manual page's date: when its text last changed in substance. */
#define MAN_DATE "2026-12-07"

/* ---- the tables ------------------------------------------------------------ */

/* A global option: its name, its value's placeholder (NULL: none), a line
 * for `haven --help` and more for the manual page (NULL: none). */
typedef struct {
    const char *name, *arg, *help, *more;
} option_doc;

static const option_doc global_options[] = {
    {"--db", "PATH", "the database: a file, or postgresql://... (default $HAVEN_DB, else\n"
                    "./haven.db)", NULL},
    {"--as", "LOGIN", "the acting user (default $HAVEN_USER, else $USER)", NULL},
    {"--purpose", "CODE", "why you act (e.g. court_report), recorded with your role\n"
                          "in every event the command writes",
     "The audit trail's \"purpose where given\"; a short code, never free text."},
    {"--now", "TIME", "fix the clock of a simulated database (init --simulated),\n"
                      "e.g. 2026-11-28T09:00:00Z; a live database refuses it",
     "For training, tests and reproducible runs.  A live database keeps the\n"
     "system clock and every command refuses --now (exit 64).  Times before\n"
     "1900 or after 2200 are refused everywhere."},
    {"--json", NULL, "print JSON instead of text", NULL},
    {"--server", "URL", "run the command on a Haven server (default $HAVEN_SERVER)",
     "The server is havend(8): unix:PATH (its Unix socket: you are your OS\n"
     "login, as an administrator mapped it), https://HOST[:PORT] (log in\n"
     "first), or http://127.0.0.1:PORT (the loopback only).  The same text,\n"
     "--json and exit codes as on a local file; files a command reads are\n"
     "sent with the request and files it writes come back.  --as, --now and\n"
     "--db are refused (64): the server knows who you are, keeps the only\n"
     "clock and its database.  init, gen, repl --unsafe, scenario, train,\n"
     "backup, purge and the rules subcommands that read a folder run only\n"
     "where the database is."},
    {"--version", NULL, "print the version", NULL},
    {"--help", NULL, "print this help (COMMAND --help: one command's)", NULL},
};

/* An exit code: the word `haven --help` gives it and the manual's line. */
typedef struct {
    int code;
    const char *word, *text;
} exit_doc;

static const exit_doc exit_codes[] = {
    {0, "ok", "success"},
    {64, "usage", "a usage error: an unknown command, option or argument, a missing\n"
                  "value (the error names it)"},
    {65, "bad data or refusal", "bad data or a refusal: the input, the workflow or "
                                "the rules say no"},
    {66, "missing input file", "an input file is missing or cannot be read"},
    {69, "not found", "not found or unavailable: no such case, user or pack; a\n"
                      "server that cannot be reached; a library that cannot be\n"
                      "loaded (libpq for postgresql://, libcurl for --server and\n"
                      "sync: opened only then)"},
    {70, "internal error", "an internal error (a bug: please report it)"},
    {73, "cannot create", "an output file cannot be created (it exists already)"},
    {74, "input/output error (e.g. disk full)", "an input/output error, e.g. a full disk"},
    {75, "database busy (retry)", "the database is busy (another process is writing):\n"
                                  "try again"},
    {77, "permission denied", "permission denied: your role or scope does not allow it,\n"
                              "or the data key is missing"},
};

/* An environment variable and what it does.  Every variable the code reads
 * with getenv is here (tests/cli/test_guard_manpage.sh greps for them). */
typedef struct {
    const char *name, *text;
} env_doc;

static const env_doc environment[] = {
    {"HAVEN_DB", "The database when --db is not given (else ./haven.db): a file,\n"
                 "or a PostgreSQL store (postgresql://...)."},
    {"HAVEN_STATE_DIR", "For a PostgreSQL store: the folder of its key, audit key\n"
                        "and checkpoints files (default: the current folder), named\n"
                        "pg-DATABASE.key etc. after the store's database."},
    {"PGDATABASE", "For a postgresql:// URL that names no database: the database\n"
                   "(as libpq reads it; else PGUSER, then the login)."},
    {"PGUSER", "For a postgresql:// URL that names neither database nor user."},
    {"HAVEN_USER", "The acting user when --as is not given (else USER)."},
    {"USER", "The acting user when neither --as nor HAVEN_USER is given."},
    {"HAVEN_SERVER", "The server when --server is not given (see --server)."},
    {"HAVEN_KEY_FILE", "The data key file instead of <db>.key (mode 0600: a key\n"
                       "file its group or others may read is refused, 77)."},
    {"HAVEN_PASSPHRASE", "A passphrase instead of a key file, at init and after\n"
                         "(the key is derived with Argon2id)."},
    {"HAVEN_BUSY_TIMEOUT", "Milliseconds (0 to 3600000) to wait for a database\n"
                           "another process is writing (default 5000) before exit 75."},
    {"HAVEN_RULES_LOG", "When set (e.g. 1), the log() lines of rules go to\n"
                        "standard error."},
    {"HAVEN_TOKEN", "A bearer token for --server (e.g. your identity provider's),\n"
                    "used instead of the one login stored."},
    {"HAVEN_CA_FILE", "A PEM file of the certificate authority that signed a\n"
                      "server's certificate (a private CA)."},
    {"XDG_CONFIG_HOME", "Where the token file lives (default ~/.config)."},
    {"HOME", "Where the REPL keeps its history and, without XDG_CONFIG_HOME,\n"
             "the token file."},
    {"TMPDIR", "Where scenario and train make their scratch databases\n"
               "(default /tmp)."},
    {"HAVEN_GEN_DEBUG", "When set, gen prints each step the rules refused on\n"
                        "standard error."},
    {"HAVEN_FAULT", "For the sync tests only: kills the process at the named\n"
                    "point of a sync (e.g. sync:before-upload)."},
};

/* A file and what it holds. */
typedef struct {
    const char *path, *text;
} file_doc;

static const file_doc files[] = {
    {"<db>.key", "The data key of the database <db> (made by init, mode 0600;\n"
                 "HAVEN_KEY_FILE names another, HAVEN_PASSPHRASE replaces it).\n"
                 "Without it names, notes and every narrative stay sealed."},
    {"<db>.audit-key", "The key that signs the audit checkpoints (Ed25519)."},
    {"<db>.checkpoints", "Append-only signed checkpoints of the audit chain, a line\n"
                         "per committing change (audit verify checks them); a\n"
                         "backup gets its own."},
    {"~/.config/haven/tokens", "The tokens of --server logins, a line per server\n"
                               "(mode 0600; XDG_CONFIG_HOME moves it)."},
    {"~/.haven_history", "The REPL's history (mode 0600; lines with names are\n"
                         "never saved)."},
    {"/usr/local/share/haven/workflows/", "The installed workflows (iasc.yaml) to give\n"
                                          "init --workflow; gen finds them itself (the\n"
                                          "installation's share/haven)."},
    {"/usr/local/share/haven/rules/", "The installed rule packs (default) to give\n"
                                      "init --rules and rules check|test|apply."},
    {"/usr/local/share/haven/scenarios/", "The installed training scenarios and\n"
                                          "train's exercises (scenarios/train)."},
};

/* The manual's DESCRIPTION, in roff. */
static const char *const description[] = {
    ".B haven",
    "takes a child from referral to closure: registration, assessment, case",
    "planning, implementation, follow-up and review, closure.  Case records are",
    "kept in one SQLite file; the process is a YAML workflow; each agency's",
    "decisions (eligibility, urgency, risk, follow-up frequency, closure checks)",
    "live in a Lua rule pack.",
    ".PP",
    "Global options may come before or after the command.  Every error is one",
    "line on standard error,",
    ".BR \"haven: WHAT: WHY\" ,",
    "with a documented exit status, and changes nothing.  Identifying data",
    "(names, dates of birth, locations, free text) never appears in an error.",
    ".PP",
    "A command that takes",
    ".I REF",
    "acts on one case by its reference (e.g. CP\\-2026\\-00001);",
    ".I key=value",
    "pairs give a step's or a registration's fields (or",
    ".B \\-\\-json\\-in",
    "a JSON object).  The lifecycle steps (assess to update below) move a case",
    "through the workflow; with",
    ".BI \\-\\-expect\\-version \" N\"",
    "a step is refused (exit 65) when the case changed since you read version",
    ".IR N .",
    NULL,
};

#define NGLOBAL (sizeof global_options / sizeof global_options[0])
#define NEXIT (sizeof exit_codes / sizeof exit_codes[0])
#define NENV (sizeof environment / sizeof environment[0])
#define NFILES (sizeof files / sizeof files[0])

/* ---- a command's forms, subcommands and options --------------------------- */

#define MAX_FORMS 16
#define MAX_WORDS 64

/* The forms of a command's usage: text (malloc'd, every run of white space
 * one space) cut into n strings, each "haven ...". */
typedef struct {
    char *text;
    char *form[MAX_FORMS];
    int n;
} forms;

/* Fills f with c's forms.  Returns 0, or -1 when out of memory. */
static int forms_of(const cli_command *c, forms *f)
{
    size_t len = 0;
    FILE *m = open_memstream(&f->text, &len);
    f->n = 0;
    if (!m)
        return -1;
    cli_print_usage(m, c);
    if (fclose(m) != 0 || !f->text)
        return -1;
    char *w = f->text;
    for (const char *r = f->text; *r; r++) {
        if (isspace((unsigned char)*r)) {
            if (w > f->text && w[-1] != ' ')
                *w++ = ' ';
        } else {
            *w++ = *r;
        }
    }
    *w = '\0';
    char *p = f->text;
    while (p && f->n < MAX_FORMS) {
        f->form[f->n++] = p;
        char *bar = strstr(p, " | haven ");
        if (bar) {
            *bar = '\0';
            bar += 3;
        }
        p = bar;
    }
    return 0;
}

/* The subcommand word of form (e.g. "disable|enable") into buf, or "". */
static const char *form_sub(const cli_command *c, const char *form, char *buf,
                            size_t size)
{
    size_t nl = strlen(c->name);
    buf[0] = '\0';
    for (const char *p = form; (p = strstr(p, c->name)); p++) {
        if ((p != form && p[-1] != ' ') || p[nl] != ' ')
            continue;
        const char *s = p + nl + 1;
        size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz|");
        if (n && n < size && (s[n] == ' ' || s[n] == '\0') && islower((unsigned char)s[0])) {
            memcpy(buf, s, n);
            buf[n] = '\0';
        }
        break;
    }
    return buf;
}

/* 1 if word is one of the space-separated list. */
static int has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; *p;) {
        size_t k = strcspn(p, " ");
        if (k == n && !strncmp(p, word, n))
            return 1;
        p += k + (p[k] == ' ');
    }
    return 0;
}

/* Appends word (n bytes) to the space-separated list (size bytes) when it
 * is not there yet. */
static void add_word(char *list, size_t size, const char *word, size_t n)
{
    char w[64];
    if (n >= sizeof w)
        return;
    memcpy(w, word, n);
    w[n] = '\0';
    if (has_word(list, w))
        return;
    size_t used = strlen(list);
    if (used + n + 2 > size)
        return;
    if (used)
        list[used++] = ' ';
    memcpy(list + used, word, n);
    list[used + n] = '\0';
}

/* c's subcommands, space-separated, into list ("" when none). */
static void subcommands_of(const cli_command *c, char *list, size_t size)
{
    forms f;
    char sub[64];
    list[0] = '\0';
    if (forms_of(c, &f))
        return;
    for (int i = 0; i < f.n; i++) {
        form_sub(c, f.form[i], sub, sizeof sub);
        for (char *p = sub; *p;) {
            size_t k = strcspn(p, "|");
            add_word(list, size, p, k);
            p += k + (p[k] == '|');
        }
    }
    free(f.text);
}

/* The --options of form into list (added to what it holds). */
static void options_of(const char *form, char *list, size_t size)
{
    for (const char *p = form; (p = strstr(p, "--")); p += 2) {
        if (p != form && !strchr(" [(|", p[-1]))
            continue;
        size_t n = 2 + strspn(p + 2, "abcdefghijklmnopqrstuvwxyz0123456789-");
        if (n > 2)
            add_word(list, size, p, n);
    }
}

/* The options of c after the subcommand sub ("": the forms without one),
 * into list. */
static void command_options(const cli_command *c, const char *sub, char *list, size_t size)
{
    forms f;
    char word[64];
    list[0] = '\0';
    if (forms_of(c, &f))
        return;
    for (int i = 0; i < f.n; i++) {
        form_sub(c, f.form[i], word, sizeof word);
        int match = !*sub ? !*word : 0;
        for (char *p = word; *p && *sub;) {
            size_t k = strcspn(p, "|");
            if (k == strlen(sub) && !strncmp(p, sub, k))
                match = 1;
            p += k + (p[k] == '|');
        }
        if (match)
            options_of(f.form[i], list, size);
    }
    free(f.text);
}

/* When line starts "SUB: " or "SUB, SUB: " (or "SUB|SUB: ") for
 * subcommands in subs, the length of that tag; else 0. */
static size_t sub_tag(const char *line, const char *subs)
{
    size_t n = strspn(line, "abcdefghijklmnopqrstuvwxyz|, ");
    if (!n || line[n] != ':' || (line[n + 1] != ' ' && line[n + 1] != '\0'))
        return 0;
    for (size_t i = 0; i < n;) {
        size_t k = strcspn(line + i, "|, :");
        char word[64];
        if (!k || k >= sizeof word)
            return 0;
        memcpy(word, line + i, k);
        word[k] = '\0';
        if (!has_word(subs, word))
            return 0;
        i += k;
        i += strspn(line + i, "|, ");
    }
    return n;
}

/* The summary of c: its own, else its help's first words (into buf). */
static const char *summary_of(const cli_command *c, char *buf, size_t size)
{
    if (c->summary)
        return c->summary;
    size_t n = strcspn(c->help, ".(,;:\n");
    while (n > 0 && c->help[n - 1] == ' ')
        n--;
    snprintf(buf, size, "%.*s", (int)n, c->help);
    if (buf[0])
        buf[0] = (char)tolower((unsigned char)buf[0]);
    return buf;
}

/* ---- text ------------------------------------------------------------------- */

/* Prints text's lines on out, each after indent spaces (the first after
 * first spaces). */
static void indented(FILE *out, int first, int indent, const char *text)
{
    int pad = first;
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        fprintf(out, "%*s%.*s\n", pad, "", (int)n, p);
        pad = indent;
        p += n + (p[n] == '\n');
    }
}

/* Prints the words of text (space-separated) on out, filled to 78 columns:
 * the first line after lead, the others after indent spaces. */
static void filled(FILE *out, const char *lead, int indent, const char *text)
{
    int col = fprintf(out, "%s", lead), start = 1, fresh = !*lead;
    for (const char *p = text; *p;) {
        p += strspn(p, " \n");
        size_t n = strcspn(p, " \n");
        if (!n)
            break;
        if (!start && col + 1 + (int)n > 78) {
            col = fprintf(out, "\n%*s", indent, "") - 1;
            fresh = 1;
        }
        if (!fresh) {
            fputc(' ', out);
            col++;
        }
        for (size_t i = 0; i < n; i++) /* \x1f: a space that never breaks */
            fputc(p[i] == '\x1f' ? ' ' : p[i], out);
        col += (int)n;
        start = fresh = 0;
        p += n;
    }
    fputc('\n', out);
}

void cli_help_command(FILE *out, const cli_command *c)
{
    forms f;
    char subs[512];
    if (forms_of(c, &f))
        return;
    for (int i = 0; i < f.n; i++)
        filled(out, i ? "      " : "usage:", 13, f.form[i]);
    free(f.text);
    subcommands_of(c, subs, sizeof subs);
    fputc('\n', out);
    for (const char *p = c->help; *p;) {
        size_t n = strcspn(p, "\n");
        if (*subs && p != c->help && sub_tag(p, subs))
            fputc('\n', out); /* a blank line before each subcommand's paragraph */
        fprintf(out, "%.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
}

/* The exit codes in a line ("0 ok, 64 usage, ..."; each code and its word
 * joined by glue) into buf. */
static const char *exit_summary(char *buf, size_t size, char glue)
{
    buf[0] = '\0';
    for (size_t i = 0; i < NEXIT; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, size - used, "%s%d%c%s%s", i ? ", " : "", exit_codes[i].code,
                 glue, exit_codes[i].word, i + 1 < NEXIT ? "" : ".");
    }
    return buf;
}

void cli_help_overview(FILE *out)
{
    size_t n;
    const cli_command *const *cmds = cli_commands(&n);
    fprintf(out, "usage: haven [--db PATH] [--as LOGIN] [--purpose CODE] [--now TIME] "
                 "[--json] COMMAND ...\n"
                 "       haven --server URL [--json] [--purpose CODE] COMMAND ...\n\n"
                 "Haven %s - child protection case management.\n\nGlobal options:\n",
            HV_VERSION_STRING);
    for (size_t i = 0; i < NGLOBAL; i++) {
        const option_doc *o = &global_options[i];
        int w = fprintf(out, "  %s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
        indented(out, w < 17 ? 17 - w : 1, 17, o->help);
    }
    fputs("\nCommands:\n", out);
    for (size_t i = 0; i < n; i++) {
        forms f;
        if (forms_of(cmds[i], &f))
            continue;
        for (int j = 0; j < f.n; j++)
            filled(out, " ", 8, f.form[j]);
        free(f.text);
    }
    char list[1024] = "";
    for (size_t i = 0; i < NENV; i++) {
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s", environment[i].name,
                 i + 1 < NENV ? ", " : " (see haven(1)).");
    }
    fputc('\n', out);
    filled(out, "Environment:", 2, list);
    fputs("\n`haven COMMAND --help` describes one command; `man haven` describes "
          "them all.\n",
          out);
    char codes[1024];
    filled(out, "Exit codes:", 2, exit_summary(codes, sizeof codes, '\x1f'));
}

/* ---- roff ------------------------------------------------------------------- */

/* Prints n bytes of text s in roff: a backslash as \e, a '-' that starts a
 * word or an option (or follows one) as \-, a leading '.' or '\'' after \&.
 * Returns nothing; the caller ends the line. */
static void roff_text(FILE *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (i == 0 && (ch == '.' || ch == '\''))
            fputs("\\&", out);
        if (ch == '\\')
            fputs("\\e", out);
        else if (ch == '-' && (i == 0 || strchr(" [(|/-", s[i - 1]) ||
                               (i + 1 < n && s[i + 1] == '-')))
            fputs("\\-", out);
        else
            fputc(ch, out);
    }
}

/* Prints text's lines in roff. */
static void roff_lines(FILE *out, const char *text)
{
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, "\n");
        roff_text(out, p, n);
        fputc('\n', out);
        p += n + (p[n] == '\n');
    }
}

/* Prints a form ("haven ...") as a synopsis: placeholders (upper case) in
 * italics, words and options in bold, brackets and bars in roman. */
static void roff_form(FILE *out, const char *form)
{
    const char *p = form;
    if (!strncmp(p, "haven ", 6))
        p += 6;
    fputs(".SY haven\n", out);
    while (*p) {
        size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                             "0123456789_.-");
        if (!n) {
            if (*p == '\\')
                fputs("\\e", out);
            else
                fputc(*p, out);
            p++;
            continue;
        }
        int upper = 0, lower = 0;
        for (size_t i = 0; i < n; i++) {
            upper |= isupper((unsigned char)p[i]);
            lower |= islower((unsigned char)p[i]);
        }
        const char *font = upper && !lower ? "\\fI" : (upper || lower) ? "\\fB" : "";
        fputs(font, out);
        for (size_t i = 0; i < n; i++)
            fputs(p[i] == '-' ? "\\-" : (char[]){p[i], 0}, out);
        if (*font)
            fputs("\\fR", out);
        p += n;
    }
    fputs("\n.YS\n", out);
}

/* The manual's part on one command: a heading, its forms, its help with a
 * tagged paragraph per subcommand. */
static void man_command(FILE *out, const cli_command *c)
{
    char sum[200], subs[512];
    forms f;
    fprintf(out, ".SS \"%s \\(em ", c->name);
    roff_text(out, summary_of(c, sum, sizeof sum), strlen(summary_of(c, sum, sizeof sum)));
    fputs("\"\n", out);
    if (!forms_of(c, &f)) {
        fputs(".PD 0\n", out);
        for (int i = 0; i < f.n; i++)
            roff_form(out, f.form[i]);
        fputs(".PD\n", out);
        free(f.text);
    }
    subcommands_of(c, subs, sizeof subs);
    fputs(".PP\n", out);
    for (const char *p = c->help; *p;) {
        size_t n = strcspn(p, "\n");
        size_t tag = *subs ? sub_tag(p, subs) : 0;
        if (tag) {
            fputs(".TP\n.B ", out);
            roff_text(out, p, tag);
            fputc('\n', out);
            const char *rest = p + tag + 1 + (p[tag + 1] == ' ');
            if (rest < p + n) {
                roff_text(out, rest, (size_t)(p + n - rest));
                fputc('\n', out);
            }
        } else if (n) {
            roff_text(out, p, n);
            fputc('\n', out);
        }
        p += n + (p[n] == '\n');
    }
}

void cli_help_man(FILE *out)
{
    size_t n;
    const cli_command *const *cmds = cli_commands(&n);
    fprintf(out, ".\\\" haven(1): made by `haven help --man` from the table of commands\n"
                 ".\\\" (bindings/cli/clirun.c, clihelp.c); do not edit: run tools/gen-docs.sh.\n"
                 ".nr HY 0\n"
                 ".TH HAVEN 1 \"%s\" \"haven %s\" \"User Commands\"\n"
                 ".SH NAME\nhaven \\- child protection case management\n"
                 ".SH SYNOPSIS\n.PD 0\n",
            MAN_DATE, HV_VERSION_STRING);
    roff_form(out, "haven [--db PATH] [--as LOGIN] [--purpose CODE] [--now TIME] [--json] "
                   "COMMAND [ARGUMENT...]");
    roff_form(out, "haven --server URL [--json] [--purpose CODE] COMMAND [ARGUMENT...]");
    roff_form(out, "haven COMMAND --help");
    roff_form(out, "haven --help | --version");
    fputs(".PD\n.SH DESCRIPTION\n", out);
    for (int i = 0; description[i]; i++)
        fprintf(out, "%s\n", description[i]);
    fputs(".SH OPTIONS\n", out);
    for (size_t i = 0; i < NGLOBAL; i++) {
        const option_doc *o = &global_options[i];
        fputs(".TP\n.B ", out);
        roff_text(out, o->name, strlen(o->name));
        if (o->arg)
            fprintf(out, " \\fI%s\\fR", o->arg);
        fputc('\n', out);
        roff_lines(out, o->help);
        if (o->more) {
            fputs(".br\n", out);
            roff_lines(out, o->more);
        }
    }
    fputs(".SH COMMANDS\n", out);
    for (size_t i = 0; i < n; i++)
        man_command(out, cmds[i]);
    char codes[1024];
    fputs(".SH EXIT STATUS\n", out);
    exit_summary(codes, sizeof codes, ' ');
    roff_text(out, codes, strlen(codes));
    fputs("\nErrors are one line on standard error, \\fBhaven: WHAT: WHY\\fR.\n", out);
    for (size_t i = 0; i < NEXIT; i++) {
        fprintf(out, ".TP\n.B %d\n", exit_codes[i].code);
        roff_lines(out, exit_codes[i].text);
    }
    fputs(".SH ENVIRONMENT\n", out);
    for (size_t i = 0; i < NENV; i++) {
        fprintf(out, ".TP\n.B %s\n", environment[i].name);
        roff_lines(out, environment[i].text);
    }
    fputs(".SH FILES\n", out);
    for (size_t i = 0; i < NFILES; i++) {
        fprintf(out, ".TP\n.I %s\n", files[i].path);
        roff_lines(out, files[i].text);
    }
    fputs(".SH SEE ALSO\n.BR havend (8),\n.BR sqlite3 (1),\n.BR lua5.4 (1),\n"
          ".BR dot (1);\nthe README.md of the source (a tour, the roles, the rule "
          "packs).\n",
          out);
}

/* ---- completion ------------------------------------------------------------- */

/* Prints s inside a shell's single quotes ('\'' for a quote); for zsh's
 * _describe, also a ':' as '\:'. */
static void squoted(FILE *out, const char *s, int colon)
{
    for (; *s; s++) {
        if (*s == '\'')
            fputs("'\\''", out);
        else if (*s == ':' && colon)
            fputs("\\:", out);
        else
            fputc(*s, out);
    }
}

/* The global options, space-separated, into list. */
static void global_list(char *list, size_t size)
{
    list[0] = '\0';
    for (size_t i = 0; i < NGLOBAL; i++)
        add_word(list, size, global_options[i].name, strlen(global_options[i].name));
}

/* For each command (and each of its subcommands), a case branch printing
 * its options but the global ones: `KEY) echo "OPTIONS" ;;` (bash) or an
 * entry `'KEY' 'OPTIONS'` of an associative array (zsh). */
static void option_table(FILE *out, int zsh)
{
    size_t n;
    const cli_command *const *cmds = cli_commands(&n);
    char globals[512];
    global_list(globals, sizeof globals);
    for (size_t i = 0; i < n; i++) {
        char subs[512], all[1024], opts[1024], key[128];
        subcommands_of(cmds[i], subs, sizeof subs);
        for (const char *p = subs;;) {
            size_t k = strcspn(p, " ");
            snprintf(key, sizeof key, "%.*s", (int)k, p);
            command_options(cmds[i], key, all, sizeof all);
            opts[0] = '\0';
            for (const char *q = all; *q;) {
                size_t m = strcspn(q, " ");
                char word[64];
                snprintf(word, sizeof word, "%.*s", (int)m, q);
                if (!has_word(globals, word))
                    add_word(opts, sizeof opts, q, m);
                q += m + (q[m] == ' ');
            }
            if (*opts && !zsh)
                fprintf(out, "        \"%s%s%s\") echo \"%s\" ;;\n", cmds[i]->name,
                        *key ? " " : "", key, opts);
            else if (*opts)
                fprintf(out, "    '%s%s%s' '%s'\n", cmds[i]->name, *key ? " " : "", key,
                        opts);
            if (!*p)
                break; /* the forms without a subcommand came last */
            p += k;
            p += *p == ' ';
        }
    }
}

/* The bash completion script. */
static void completion_bash(FILE *out)
{
    size_t n;
    const cli_command *const *cmds = cli_commands(&n);
    char list[2048] = "", globals[512];
    for (size_t i = 0; i < n; i++)
        add_word(list, sizeof list, cmds[i]->name, strlen(cmds[i]->name));
    global_list(globals, sizeof globals);
    fprintf(out, "# bash completion for haven(1)                           -*- shell-script -*-\n"
                 "# Made by `haven help --completion bash` from haven's table of commands;\n"
                 "# do not edit (tools/gen-docs.sh writes it again).\n\n"
                 "_haven_commands=\"%s\"\n_haven_globals=\"%s\"\n\n"
                 "# _haven_subcommands COMMAND: its subcommands\n"
                 "_haven_subcommands()\n{\n    case $1 in\n",
            list, globals);
    for (size_t i = 0; i < n; i++) {
        char subs[512];
        subcommands_of(cmds[i], subs, sizeof subs);
        if (*subs)
            fprintf(out, "        %s) echo \"%s\" ;;\n", cmds[i]->name, subs);
    }
    fputs("    esac\n}\n\n# _haven_options \"COMMAND [SUBCOMMAND]\": its options\n"
          "_haven_options()\n{\n    case $1 in\n", out);
    option_table(out, 0);
    fputs("    esac\n}\n\n"
          "_haven()\n{\n"
          "    local cur=${COMP_WORDS[COMP_CWORD]} i w cmd= cmdi=0 sub= subs opts\n"
          "    COMPREPLY=()\n"
          "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
          "        w=${COMP_WORDS[i]}\n"
          "        case $w in\n"
          "            --db | --as | --now | --purpose | --server) [ -z \"$cmd\" ] && ((i++)) ;;\n"
          "            -*) ;;\n"
          "            *) if [ -z \"$cmd\" ]; then cmd=$w cmdi=$i\n"
          "               elif [ -z \"$sub\" ] && [ \"$i\" -eq $((cmdi + 1)) ]; then sub=$w; fi ;;\n"
          "        esac\n"
          "    done\n"
          "    if [ -z \"$cmd\" ]; then\n"
          "        case $cur in\n"
          "            -*) COMPREPLY=($(compgen -W \"$_haven_globals\" -- \"$cur\")) ;;\n"
          "            *) COMPREPLY=($(compgen -W \"$_haven_commands\" -- \"$cur\")) ;;\n"
          "        esac\n"
          "        return 0\n"
          "    fi\n"
          "    if [ \"$cmd\" = help ] && [ \"$COMP_CWORD\" -eq $((cmdi + 1)) ]; then\n"
          "        COMPREPLY=($(compgen -W \"$_haven_commands --man --completion\" -- \"$cur\"))\n"
          "        return 0\n"
          "    fi\n"
          "    subs=$(_haven_subcommands \"$cmd\")\n"
          "    if [ -n \"$subs\" ] && [ \"$COMP_CWORD\" -eq $((cmdi + 1)) ] && [[ $cur != -* ]]; then\n"
          "        COMPREPLY=($(compgen -W \"$subs\" -- \"$cur\"))\n"
          "        return 0\n"
          "    fi\n"
          "    if [[ $cur == -* ]]; then\n"
          "        opts=$(_haven_options \"$cmd${sub:+ $sub}\")\n"
          "        [ -n \"$opts\" ] || opts=$(_haven_options \"$cmd\")\n"
          "        COMPREPLY=($(compgen -W \"$opts $_haven_globals\" -- \"$cur\"))\n"
          "    fi\n"
          "    # anything else: file names (complete -o default)\n"
          "    return 0\n"
          "}\n"
          "complete -o default -F _haven haven\n",
          out);
}

/* The zsh completion function (autoloaded from $fpath as _haven). */
static void completion_zsh(FILE *out)
{
    size_t n;
    const cli_command *const *cmds = cli_commands(&n);
    fputs("#compdef haven\n"
          "# zsh completion for haven(1): made by `haven help --completion zsh` from\n"
          "# haven's table of commands; do not edit (tools/gen-docs.sh writes it again).\n\n"
          "local -a _haven_cmds\n_haven_cmds=(\n",
          out);
    for (size_t i = 0; i < n; i++) {
        char sum[200];
        fprintf(out, "    '%s:", cmds[i]->name);
        squoted(out, summary_of(cmds[i], sum, sizeof sum), 1);
        fputs("'\n", out);
    }
    char globals[512];
    global_list(globals, sizeof globals);
    fprintf(out, ")\nlocal _haven_globals='%s'\nlocal -A _haven_subs _haven_opts\n"
                 "_haven_subs=(\n",
            globals);
    for (size_t i = 0; i < n; i++) {
        char subs[512];
        subcommands_of(cmds[i], subs, sizeof subs);
        if (*subs)
            fprintf(out, "    %s '%s'\n", cmds[i]->name, subs);
    }
    fputs(")\n_haven_opts=(\n", out);
    option_table(out, 1);
    fputs(")\n\n"
          "local curcontext=$curcontext state line ret=1\n"
          "typeset -A opt_args\n"
          "_arguments -C \\\n",
          out);
    for (size_t i = 0; i < NGLOBAL; i++) {
        const option_doc *o = &global_options[i];
        size_t k = strcspn(o->help, "(\n");
        while (k > 0 && o->help[k - 1] == ' ')
            k--;
        char what[120];
        snprintf(what, sizeof what, "%.*s", (int)k, o->help);
        fprintf(out, "    '%s[", o->name);
        squoted(out, what, 0);
        fprintf(out, "]%s' \\\n",
                !o->arg ? "" : !strcmp(o->arg, "PATH") ? ":database:_files" : ":value: ");
    }
    fputs("    '1:command:->command' \\\n"
          "    '*::argument:->argument' && ret=0\n\n"
          "case $state in\n"
          "command)\n"
          "    _describe -t commands 'haven command' _haven_cmds && ret=0\n"
          "    ;;\n"
          "argument)\n"
          "    local cmd=$words[1] sub= opts\n"
          "    if [[ $cmd == help ]] && (( CURRENT == 2 )); then\n"
          "        _describe -t commands 'haven command' _haven_cmds && ret=0\n"
          "        compadd -- --man --completion && ret=0\n"
          "    elif [[ -n ${_haven_subs[$cmd]} ]] && (( CURRENT == 2 )) && [[ $PREFIX != -* ]]; then\n"
          "        compadd -- ${=_haven_subs[$cmd]} && ret=0\n"
          "    elif [[ $PREFIX == -* ]]; then\n"
          "        (( CURRENT > 2 )) && sub=$words[2]\n"
          "        opts=${_haven_opts[$cmd $sub]:-${_haven_opts[$cmd]}}\n"
          "        compadd -- ${=opts} ${=_haven_globals} && ret=0\n"
          "    else\n"
          "        _files && ret=0\n"
          "    fi\n"
          "    ;;\n"
          "esac\n"
          "return ret\n",
          out);
}

int cli_help_completion(FILE *out, const char *shell)
{
    if (!strcmp(shell, "bash"))
        completion_bash(out);
    else if (!strcmp(shell, "zsh"))
        completion_zsh(out);
    else
        return -1;
    return 0;
}
