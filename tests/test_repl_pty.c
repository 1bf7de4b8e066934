/* test_repl_pty.c - drives the interactive REPL through a pseudo-terminal:
 * tab completion, a multi-line entry, Ctrl-C, a friendly refusal, Ctrl-D,
 * and the history file, which keeps only lines made of command names,
 * this database's references, codes and short numbers (issue 15: no note
 * text, comment, bare identifier or continuation line; nor a string or
 * number that only looks like a reference or a number); and one-line
 * refusals on a live database. */
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"

static char transcript[1 << 20];
static size_t tlen;

/* Reads from the pty until want appears after offset `from` or 10 s pass. */
static int wait_for(int fd, size_t from, const char *want)
{
    for (int waited = 0; waited < 10000;) {
        transcript[tlen] = '\0';
        if (strstr(transcript + from, want))
            return 1;
        struct pollfd p = {fd, POLLIN, 0};
        int r = poll(&p, 1, 100);
        waited += 100;
        if (r > 0) {
            ssize_t n = read(fd, transcript + tlen, sizeof transcript - tlen - 1);
            if (n > 0)
                tlen += (size_t)n;
            else if (n < 0 && errno != EINTR)
                return 0;
        }
    }
    return 0;
}

static void send_keys(int fd, const char *keys)
{
    ssize_t n = write(fd, keys, strlen(keys));
    (void)n;
    usleep(50000);
}

#define EXPECT(fd, from, text)                                                 \
    do {                                                                       \
        if (!wait_for(fd, from, text))                                         \
            fail_msg("expected '%s'; the screen so far:\n%s", text,            \
                     transcript + (from));                                     \
    } while (0)

/* Leaves the REPL at fd (child pid) with Ctrl-D: it must exit with 0
 * within ten seconds (else it is killed and the test fails). */
static void quit_repl(int fd, pid_t pid)
{
    send_keys(fd, "\x04");
    int status = 0;
    for (int i = 0; i < 100 && waitpid(pid, &status, WNOHANG) == 0; i++)
        usleep(100000);
    if (!WIFEXITED(status)) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        fail_msg("the REPL did not exit on Ctrl-D");
    }
    assert_int_equal(WEXITSTATUS(status), 0);
    close(fd);
}

/* Makes a simulated database in a new folder (returned, for free) with
 * the caseworker amal and Noor registered with concerns, then starts
 * `haven --as amal repl` on it in a pseudo-terminal.  out: *fd, *pid. */
static char *start_noor_repl(const char *haven, const char *concerns, int *fd, pid_t *pid)
{
    char *dir = tu_tempdir();
    char cmd[32768], wf[4200], rules[4200];
    snprintf(wf, sizeof wf, "%s", tu_source_path("workflows/iasc.yaml"));
    snprintf(rules, sizeof rules, "%s", tu_source_path("rules/default"));
    snprintf(cmd, sizeof cmd,
             "cd %s && HAVEN_DB=%s/h.db %s --as admin --now 2026-11-28T09:00:00Z init --simulated"
             " --agency CP --workflow %s --rules %s >/dev/null &&"
             " HAVEN_DB=%s/h.db %s --as admin user add amal --role caseworker"
             " >/dev/null &&"
             " HAVEN_DB=%s/h.db %s --as amal --now 2026-11-28T09:00:00Z register"
             " child.name=Noor child.age=12 child.sex=female location=Riverside"
             " source=school concerns=%s"
             " consent.registration=caregiver >/dev/null",
             dir, dir, haven, wf, rules, dir, haven, dir, haven, concerns);
    assert_int_equal(system(cmd), 0);
    *pid = forkpty(fd, NULL, NULL, NULL);
    assert_true(*pid >= 0);
    if (*pid == 0) {
        char db[4200];
        snprintf(db, sizeof db, "%s/h.db", dir);
        setenv("HAVEN_DB", db, 1);
        setenv("HOME", dir, 1);
        setenv("TERM", "dumb", 1);
        execl(haven, haven, "--as", "amal", "--now", "2026-11-29T09:00:00Z", "repl",
              (char *)NULL);
        _exit(127);
    }
    return dir;
}

static void drive_the_repl(void **state)
{
    (void)state;
    const char *haven = getenv("HAVEN");
    if (!haven)
        skip();
    int fd;
    pid_t pid;
    char *dir = start_noor_repl(haven, "emotional_distress", &fd, &pid);
    char cmd[4400];
    EXPECT(fd, 0, "haven> ");
    /* Tab completion: a command, then a case reference. */
    size_t mark = tlen;
    send_keys(fd, "sho\t");
    EXPECT(fd, mark, "show");
    send_keys(fd, "\"CP-2026-0000\t");
    EXPECT(fd, mark, "CP-2026-00001");
    /* readline closes the quote it completed inside */
    send_keys(fd, "\r");
    EXPECT(fd, mark, "Case CP-2026-00001");
    EXPECT(fd, mark, "haven> ");
    /* A multi-line entry. */
    mark = tlen;
    send_keys(fd, "for i = 1, 2 do\r");
    EXPECT(fd, mark, ">> ");
    send_keys(fd, "print('line ' .. i * 10)\r");
    send_keys(fd, "end\r");
    EXPECT(fd, mark, "line 20");
    /* Ctrl-C cancels the line being typed. */
    mark = tlen;
    send_keys(fd, "due(");
    send_keys(fd, "\x03");
    EXPECT(fd, mark, "^C");
    send_keys(fd, "40 + 2\r");
    EXPECT(fd, mark, "42");
    /* A friendly refusal: one line, no traceback. */
    mark = tlen;
    send_keys(fd, "show \"CP-2099-00001\"\r");
    EXPECT(fd, mark, "! CP-2099-00001: no such case");
    EXPECT(fd, mark, "haven> ");
    if (strstr(transcript + mark, "traceback"))
        fail_msg("a refusal printed a traceback:\n%s", transcript + mark);
    /* Open the case and record a follow-up... refused before a plan. */
    mark = tlen;
    send_keys(fd, "open \"CP-2026-00001\"\r");
    EXPECT(fd, mark, "haven CP-2026-00001> ");
    send_keys(fd, "search \"Noor\"\r");
    EXPECT(fd, mark, "Noor");
    /* Free text never reaches the history (issue 15): a one-word note, a
     * comment, a bare identifier; a plain command line does. */
    mark = tlen;
    send_keys(fd, "note \"zqxamina\"\r");
    EXPECT(fd, mark, "version ");
    mark = tlen;
    send_keys(fd, "x = 1 -- Noor lives at Riverside\r");
    EXPECT(fd, mark, "haven CP-2026-00001> ");
    mark = tlen;
    send_keys(fd, "Zqxbare\r");
    EXPECT(fd, mark, "nil");
    mark = tlen;
    send_keys(fd, "due{ overdue = true }\r");
    EXPECT(fd, mark, "haven CP-2026-00001> ");
    /* Identifiers that look like references or numbers are not kept: only
     * this database's references, known codes and short numbers are
     * (the red-team review after issue 15). */
    static const char *const lookalikes[] = {
        "show \"NOOR.HAMID.2014\"\r", "open(07700900123)\r",
        "show \"AB123456C\"\r", "due{ within = 0xfaded }\r",
        "show \"CP-2026-00001-19\"\r", "due{ within = 1e9 }\r"};
    for (size_t i = 0; i < sizeof lookalikes / sizeof *lookalikes; i++) {
        mark = tlen;
        send_keys(fd, lookalikes[i]);
        EXPECT(fd, mark, "haven CP-2026-00001> ");
    }
    /* A Lua error in what was typed: one line, no traceback. */
    mark = tlen;
    send_keys(fd, "error(\"boom\")\r");
    EXPECT(fd, mark, "error: boom");
    EXPECT(fd, mark, "haven CP-2026-00001> ");
    if (strstr(transcript + mark, "traceback"))
        fail_msg("an error printed a traceback:\n%s", transcript + mark);
    /* Ctrl-D leaves. */
    quit_repl(fd, pid);
    /* The history: 0600, and the line naming the child was not saved. */
    char hist[4200];
    snprintf(hist, sizeof hist, "%s/.haven_history", dir);
    struct stat sb;
    assert_int_equal(stat(hist, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    char *text = tu_read_file(hist, NULL);
    assert_non_null(text);
    assert_non_null(strstr(text, "40 + 2"));
    assert_non_null(strstr(text, "show \"CP-2026-00001\""));
    assert_non_null(strstr(text, "open \"CP-2026-00001\""));
    assert_non_null(strstr(text, "due{ overdue = true }"));
    if (strstr(text, "Noor") || strstr(text, "zqxamina") || strstr(text, "Riverside") ||
        strstr(text, "x = 1") || strstr(text, "Zqxbare") || strstr(text, "for i"))
        fail_msg("the history kept free text:\n%s", text);
    if (strstr(text, "NOOR.HAMID") || strstr(text, "07700900123") ||
        strstr(text, "AB123456C") || strstr(text, "0xfaded") ||
        strstr(text, "00001-19") || strstr(text, "1e9"))
        fail_msg("the history kept an identifier:\n%s", text);
    free(text);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

/* On a live database the clock is refused in one line ("! clock: ..."),
 * without a traceback, and the session goes on. */
static void refusals_are_one_line(void **state)
{
    (void)state;
    const char *haven = getenv("HAVEN");
    if (!haven)
        skip();
    char *dir = tu_tempdir();
    char cmd[16384], wf[4200];
    snprintf(wf, sizeof wf, "%s", tu_source_path("workflows/iasc.yaml"));
    snprintf(cmd, sizeof cmd,
             "cd %s && HAVEN_DB=%s/live.db %s --as admin init --agency CP"
             " --workflow %s >/dev/null && HAVEN_DB=%s/live.db %s --as admin"
             " user add amal --role caseworker >/dev/null",
             dir, dir, haven, wf, dir, haven);
    assert_int_equal(system(cmd), 0);
    int fd;
    pid_t pid = forkpty(&fd, NULL, NULL, NULL);
    assert_true(pid >= 0);
    if (pid == 0) {
        char db[4200];
        snprintf(db, sizeof db, "%s/live.db", dir);
        setenv("HAVEN_DB", db, 1);
        setenv("HOME", dir, 1);
        setenv("TERM", "dumb", 1);
        execl(haven, haven, "--as", "amal", "repl", (char *)NULL);
        _exit(127);
    }
    tlen = 0;
    EXPECT(fd, 0, "haven> ");
    static const struct {
        const char *keys, *want;
    } lines[] = {{"advance(\"1d\")\r", "! clock: this database is live"},
                 {"engine:set_now(\"2027-01-01\")\r", "! clock: this database is live"},
                 {"x = = 1\r", "syntax error: unexpected symbol"}};
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        size_t mark = tlen;
        send_keys(fd, lines[i].keys);
        EXPECT(fd, mark, lines[i].want);
        EXPECT(fd, mark, "haven> ");
        if (strstr(transcript + mark, "traceback"))
            fail_msg("'%s' printed a traceback:\n%s", lines[i].keys,
                     transcript + mark);
    }
    quit_repl(fd, pid);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

/* Issue 20: completion fits what is being written (a follow-up's method
 * offers follow-up methods, never a concern such as physical_abuse;
 * `haven.` and `c:` offer members and methods), and explain()/history()
 * print what `haven explain` and `haven history` print (worded, in order,
 * no table dump) while still returning the table. */
static void completion_and_explain(void **state)
{
    (void)state;
    const char *haven = getenv("HAVEN");
    if (!haven)
        skip();
    int fd;
    pid_t pid;
    char *dir = start_noor_repl(haven, "emotional_distress,physical_abuse", &fd, &pid);
    char cmd[4400];
    tlen = 0;
    EXPECT(fd, 0, "haven> ");
    /* `method = "ph`: the one follow-up method completes (before, a concern
     * code matched as well, and nothing was completed). */
    size_t mark = tlen;
    send_keys(fd, "followup{ method = \"ph\t");
    EXPECT(fd, mark, "phone_call");
    send_keys(fd, "\t\t");
    send_keys(fd, "\x03");
    EXPECT(fd, mark, "haven> ");
    if (strstr(transcript + mark, "physical_abuse"))
        fail_msg("a concern offered as a follow-up method:\n%s", transcript + mark);
    /* A free-text value offers nothing. */
    mark = tlen;
    send_keys(fd, "note{ text = \"ph\t\t");
    send_keys(fd, "\x03");
    EXPECT(fd, mark, "haven> ");
    if (strstr(transcript + mark, "physical_abuse") || strstr(transcript + mark, "phone_call"))
        fail_msg("codes offered for free text:\n%s", transcript + mark);
    /* `haven.` lists the module's members. */
    mark = tlen;
    send_keys(fd, "haven.dur\t");
    EXPECT(fd, mark, "haven.duration");
    send_keys(fd, "\x03");
    EXPECT(fd, mark, "haven> ");
    /* `c:` a case's methods. */
    mark = tlen;
    send_keys(fd, "open \"CP-2026-00001\"\r");
    EXPECT(fd, mark, "haven CP-2026-00001> ");
    send_keys(fd, "c = case()\r");
    mark = tlen;
    send_keys(fd, "c:expl\t");
    EXPECT(fd, mark, "c:explain");
    send_keys(fd, "\x03");
    EXPECT(fd, mark, "haven CP-2026-00001> ");
    /* explain(): worded, as `haven explain` prints it, and no table. */
    mark = tlen;
    send_keys(fd, "explain()\r");
    EXPECT(fd, mark, "registered, by amal");
    EXPECT(fd, mark, "initial assessment due within 1 day");
    EXPECT(fd, mark, "comprehensive assessment due within 14 days (2 weeks)");
    EXPECT(fd, mark, "haven CP-2026-00001> ");
    if (strstr(transcript + mark, "initial_due") || strstr(transcript + mark, "{"))
        fail_msg("explain() dumped its table:\n%s", transcript + mark);
    /* history(): the CLI's lines; the table is still returned. */
    mark = tlen;
    send_keys(fd, "t = history()\r");
    EXPECT(fd, mark, "registered: urgency immediate; source school");
    EXPECT(fd, mark, "haven CP-2026-00001> ");
    if (strstr(transcript + mark, "{\""))
        fail_msg("history() printed JSON:\n%s", transcript + mark);
    mark = tlen;
    send_keys(fd, "print(#t, t[1].kind)\r");
    EXPECT(fd, mark, "registered");
    quit_repl(fd, pid);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    free(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(drive_the_repl),
                                       cmocka_unit_test(refusals_are_one_line),
                                       cmocka_unit_test(completion_and_explain)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
