/* checkpoint.c - the audit signing key and the signed checkpoints of the
 * audit chain that every committing change appends beside the database. */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "core.h"
#include "error.h"
#include "fileio.h"

void hv__audit_key_path(const hv_engine *e, char *buf, size_t size)
{
    hv__side_path(e->path, ".audit-key", buf, size);
}

void hv__checkpoints_path(const hv_engine *e, char *buf, size_t size)
{
    hv__side_path(e->path, ".checkpoints", buf, size);
}

/* Makes a new signing key at path (0600, never over an existing file)
 * into e. */
static hv_status make_key(hv_engine *e, const char *path)
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    char hex[2 * crypto_sign_SECRETKEYBYTES + 1];
    crypto_sign_keypair(pk, e->audit_sk);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return hv__fail(e, HV_CANTCREATE, "%s: cannot create: %s", path,
                        strerror(errno));
    sodium_bin2hex(hex, sizeof hex, e->audit_sk, crypto_sign_SECRETKEYBYTES);
    size_t want = strlen(hex);
    ssize_t n = write(fd, hex, want);
    int synced = e->scratch || fsync(fd) == 0;
    close(fd);
    sodium_memzero(hex, sizeof hex);
    if (n != (ssize_t)want || !synced) {
        unlink(path);
        return hv__fail(e, HV_IOERR, "%s: cannot write", path);
    }
    e->have_audit_sk = 1;
    return HV_OK;
}

hv_status hv__audit_key_load(hv_engine *e, int create)
{
    char path[4200], hex[2 * crypto_sign_SECRETKEYBYTES + 2];
    if (e->have_audit_sk)
        return HV_OK;
    if (sodium_init() < 0)
        return hv__fail(e, HV_INTERNAL, "libsodium failed to start");
    hv__audit_key_path(e, path, sizeof path);
    FILE *f = fopen(path, "re");
    if (!f && create && errno == ENOENT)
        return make_key(e, path);
    if (!f)
        return hv__fail(e, HV_NOINPUT, "%s: no audit key (it is made at init; "
                                       "changes are checkpointed with it)",
                        path);
    /* whoever else may read the signing key can forge checkpoints (or
     * replace it, if they may write it) */
    struct stat sb;
    if (fstat(fileno(f), &sb) == 0 && (sb.st_mode & 077)) {
        fclose(f);
        return hv__fail(e, HV_DENIED, "%s: the audit key may be read or written "
                        "by others; make it the owner's alone: chmod 600 %s",
                        path, path);
    }
    size_t n = fread(hex, 1, sizeof hex - 1, f);
    fclose(f);
    hex[n] = '\0';
    size_t len = 0;
    int bad = sodium_hex2bin(e->audit_sk, crypto_sign_SECRETKEYBYTES, hex, n,
                             " \n", &len, NULL) != 0 ||
              len != crypto_sign_SECRETKEYBYTES;
    sodium_memzero(hex, sizeof hex);
    if (bad) {
        sodium_memzero(e->audit_sk, sizeof e->audit_sk);
        return hv__fail(e, HV_INVALID, "%s: not an audit key", path);
    }
    e->have_audit_sk = 1;
    return HV_OK;
}

void hv__audit_public_key(const hv_engine *e, unsigned char *pk)
{
    crypto_sign_ed25519_sk_to_pk(pk, e->audit_sk);
}

/* The signed statement of a head: "haven-audit-v1 SEQ HASHHEX AT". */
static void statement(int64_t seq, const char *hash_hex, int64_t at, char *buf,
                      size_t size)
{
    snprintf(buf, size, "haven-audit-v1 %lld %s %lld", (long long)seq, hash_hex,
             (long long)at);
}

void hv__checkpoint_sign(hv_engine *e, int64_t seq, const unsigned char *hash,
                         int64_t at, char hash_hex[HV_CHECKPOINT_HASH_HEX],
                         char sig_hex[HV_CHECKPOINT_SIG_HEX])
{
    unsigned char sig[crypto_sign_BYTES];
    char text[256];
    sodium_bin2hex(hash_hex, HV_CHECKPOINT_HASH_HEX, hash, 32);
    for (char *p = hash_hex; *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    statement(seq, hash_hex, at, text, sizeof text);
    crypto_sign_detached(sig, NULL, (const unsigned char *)text, strlen(text),
                         e->audit_sk);
    sodium_bin2hex(sig_hex, HV_CHECKPOINT_SIG_HEX, sig, sizeof sig);
}

int hv__checkpoint_check(const unsigned char *pk, int64_t seq,
                         const char *hash_hex, int64_t at, const char *sig_hex)
{
    unsigned char sig[crypto_sign_BYTES];
    char text[256];
    size_t len = 0;
    if (sodium_hex2bin(sig, sizeof sig, sig_hex, strlen(sig_hex), NULL, &len,
                       NULL) != 0 ||
        len != sizeof sig)
        return -1;
    statement(seq, hash_hex, at, text, sizeof text);
    return crypto_sign_verify_detached(sig, (const unsigned char *)text,
                                       strlen(text), pk) == 0
               ? 0
               : -1;
}

int hv__checkpoint_parse(const char *line, int64_t *seq,
                         char hash_hex[HV_CHECKPOINT_HASH_HEX], int64_t *at,
                         char sig_hex[HV_CHECKPOINT_SIG_HEX])
{
    json_t *cp = json_loads(line, JSON_REJECT_DUPLICATES, NULL);
    const char *hash = json_string_value(json_object_get(cp, "hash"));
    const char *sig = json_string_value(json_object_get(cp, "signature"));
    json_t *s = json_object_get(cp, "seq"), *t = json_object_get(cp, "at_seconds");
    int ok = hash && sig && json_is_integer(s) && json_is_integer(t) &&
             json_integer_value(s) > 0 && strlen(hash) == 64 &&
             strlen(sig) == 128;
    if (ok) {
        *seq = json_integer_value(s);
        *at = json_integer_value(t);
        memcpy(hash_hex, hash, 65);
        /* the statement signs the hash in upper case; `audit checkpoint
         * --json` prints it in lower case, as every hash Haven prints */
        for (char *p = hash_hex; *p; p++)
            if (*p >= 'a' && *p <= 'f')
                *p = (char)(*p - 'a' + 'A');
        memcpy(sig_hex, sig, 129);
    }
    json_decref(cp);
    return ok ? 0 : -1;
}

/* HV_OK unless the checkpoints file exists and its group or others may
 * write it (they could cut the checkpoints that anchor the chain): then
 * HV_DENIED naming the chmod to run, and the change is not made. */
static hv_status checkpoints_private(hv_engine *e)
{
    char path[4200];
    struct stat sb;
    hv__checkpoints_path(e, path, sizeof path);
    if (stat(path, &sb) == 0 && (sb.st_mode & 022))
        return hv__fail(e, HV_DENIED, "%s: the checkpoints may be written by "
                        "others; make them the owner's alone: chmod 600 %s",
                        path, path);
    return HV_OK;
}

/* The signed line of the head (seq, hash) at time at, into buf. */
static void signed_line(hv_engine *e, int64_t seq, const unsigned char *hash,
                        hv_time at, char *buf, size_t size)
{
    char hash_hex[HV_CHECKPOINT_HASH_HEX], sig_hex[HV_CHECKPOINT_SIG_HEX];
    hv__checkpoint_sign(e, seq, hash, at, hash_hex, sig_hex);
    snprintf(buf, size,
             "{\"seq\":%lld,\"hash\":\"%s\",\"at_seconds\":%lld,"
             "\"signature\":\"%s\"}\n",
             (long long)seq, hash_hex, (long long)at, sig_hex);
}

/* The signing of a checkpoint line on a thread of its own, while the
 * COMMIT it follows waits for the disk (an Ed25519 signature costs about
 * as much CPU as the rest of a commit's own work). */
struct hv_sign_job {
    pthread_t thread;
    hv_engine *e; /* only e->audit_sk is read, e->checkpoint_line written */
    int64_t seq;
    unsigned char hash[32];
    hv_time at;
};

static void *sign_job_run(void *arg)
{
    struct hv_sign_job *j = arg;
    signed_line(j->e, j->seq, j->hash, j->at, j->e->checkpoint_line,
                sizeof j->e->checkpoint_line);
    return NULL;
}

/* Waits for the signing thread, if one runs: then e->checkpoint_line holds
 * the signed line. */
static void sign_job_wait(hv_engine *e)
{
    struct hv_sign_job *j = e->checkpoint_job;
    if (!j)
        return;
    pthread_join(j->thread, NULL);
    sodium_memzero(j, sizeof *j);
    free(j);
    e->checkpoint_job = NULL;
}

hv_status hv__checkpoint_prepare(hv_engine *e, hv_time at)
{
    sign_job_wait(e);
    e->checkpoint_line[0] = '\0';
    if (!e->head.pending || e->no_checkpoints)
        return HV_OK;
    hv_status s = hv__audit_key_load(e, 0);
    if (s || (s = checkpoints_private(e)))
        return s;
    /* The key is here, so the line will be signed: on a thread beside the
     * COMMIT when one can be started, else now.  Either way the line is
     * whole before hv__checkpoint_append or _forget returns. */
    struct hv_sign_job *j = calloc(1, sizeof *j);
    if (j) {
        j->e = e;
        j->seq = e->head.seq;
        memcpy(j->hash, e->head.hash, sizeof j->hash);
        j->at = at;
        if (pthread_create(&j->thread, NULL, sign_job_run, j) == 0) {
            e->checkpoint_job = j;
            return HV_OK;
        }
        free(j);
    }
    signed_line(e, e->head.seq, e->head.hash, at, e->checkpoint_line,
                sizeof e->checkpoint_line);
    return HV_OK;
}

/* After a line was cut short at written bytes (a full disk): cuts them
 * off again while they are still the file's end, else the next line
 * appended would join them into a middle line that is not a checkpoint,
 * which verify refuses for good.  0 when cut off; -1 when another writer
 * appended since or the file could not be truncated. */
static int drop_torn(int fd, off_t written)
{
    struct stat sb;
    off_t end = lseek(fd, 0, SEEK_CUR);
    if (end < written || fstat(fd, &sb) != 0 || sb.st_size != end)
        return -1;
    return ftruncate(fd, end - written) == 0 ? 0 : -1;
}

void hv__checkpoint_append(hv_engine *e, int fresh)
{
    char path[4200];
    sign_job_wait(e);
    size_t n = strlen(e->checkpoint_line);
    e->head.pending = 0;
    if (n == 0)
        return;
    hv__checkpoints_path(e, path, sizeof path);
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC |
                            (fresh ? O_TRUNC : 0),
                  0600);
    if (fd >= 0) {
        /* one write of a whole line: appends of concurrent writers never
         * interleave within a line (a torn last line is ignored by verify) */
        ssize_t w = write(fd, e->checkpoint_line, n);
        if (w > 0 && (size_t)w < n)
            (void)drop_torn(fd, (off_t)w); /* best effort, as the write */
        close(fd);
    }
    e->checkpoint_line[0] = '\0';
}

void hv__checkpoint_forget(hv_engine *e)
{
    sign_job_wait(e);
    e->head.pending = 0;
    e->checkpoint_line[0] = '\0';
}

/* Writes len bytes of p to fd; 0 when all were written. */
static int write_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Copies to fd each line of this database's checkpoints file (when there
 * is one) that is a checkpoint of an entry up to seq.  0, or -1 when fd
 * could not be written. */
static int copy_lines(hv_engine *e, int fd, int64_t seq)
{
    char path[4200], hash_hex[HV_CHECKPOINT_HASH_HEX];
    char sig_hex[HV_CHECKPOINT_SIG_HEX];
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int64_t at, line_seq;
    int bad = 0;
    hv__checkpoints_path(e, path, sizeof path);
    FILE *f = fopen(path, "re");
    if (!f)
        return 0;
    while (!bad && (n = getline(&line, &cap, f)) > 0) {
        /* (a torn last line has no newline: never copied) */
        if (line[n - 1] == '\n' &&
            hv__checkpoint_parse(line, &line_seq, hash_hex, &at, sig_hex) == 0 &&
            line_seq <= seq)
            bad = write_all(fd, line, (size_t)n);
    }
    free(line);
    fclose(f);
    return bad;
}

hv_status hv__checkpoint_copy(hv_engine *e, const char *dest, int64_t seq,
                              const unsigned char *hash, hv_time at)
{
    char path[4200], last[sizeof e->checkpoint_line];
    hv_status s = hv__audit_key_load(e, 0);
    if (s)
        return s;
    if ((size_t)snprintf(path, sizeof path, "%s.checkpoints", dest) >= sizeof path)
        return hv__fail(e, HV_CANTCREATE, "backup: the path is too long");
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return hv__fail(e, HV_CANTCREATE, "%s: cannot create: %s", path,
                        strerror(errno));
    signed_line(e, seq, hash, at, last, sizeof last);
    int bad = copy_lines(e, fd, seq) || write_all(fd, last, strlen(last));
    bad |= fsync(fd) != 0;
    bad |= close(fd) != 0;
    if (bad) {
        unlink(path);
        return hv__fail(e, HV_IOERR, "%s: cannot write", path);
    }
    return HV_OK;
}
