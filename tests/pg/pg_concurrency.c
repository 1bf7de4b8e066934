/* pg-concurrency DB N P: P processes, each opening the store DB as amal and
 * making N mixed changes through the engine (haven.h only): every fifth a
 * registration, the rest notes on one of the shared cases (CP-...-00001 to
 * 00004), each made on the version just read, so racing writers meet the
 * stale-version guard.  Each process prints one line per outcome:
 *   registered REF | noted REF | stale REF | busy | failed STATUS MESSAGE
 * and the test (test_pg_concurrency.sh) checks the store against them: no
 * lost note, no duplicate reference, the audit chain one line. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "haven.h"

#define SHARED 4

static const char *shared_ref(int k, char *buf, size_t size)
{
    snprintf(buf, size, "CP-2026-%05d", k + 1);
    return buf;
}

/* The case's version from its summary (no names: not an audited read). */
static long long version_of(hv_engine *e, const char *ref)
{
    char *json = NULL;
    long long v = -1;
    if (hv_case_summary_json(e, ref, &json) == HV_OK) {
        const char *at = strstr(json, "\"version\":");
        if (at)
            v = atoll(at + 10);
    }
    hv_free(json);
    return v;
}

static int worker(const char *db, int id, int n)
{
    hv_engine *e = NULL;
    char *err = NULL;
    if (hv_engine_open(db, &e, &err) != HV_OK || hv_engine_set_actor(e, "amal") != HV_OK) {
        printf("failed open %s\n", err ? err : "?");
        return 1;
    }
    hv_engine_set_busy_timeout(e, 120000);
    unsigned seed = (unsigned)(id * 7919 + 17);
    for (int i = 0; i < n; i++) {
        char ref[32];
        hv_status s;
        if (i % 5 == 0) {
            char input[512], *out = NULL;
            snprintf(input, sizeof input,
                     "{\"source\":\"community\",\"location\":\"Camp %d\","
                     "\"concerns\":[\"neglect\"],\"child\":{\"name\":\"Child %d-%d\","
                     "\"age\":%d,\"sex\":\"female\"},\"consent\":{\"registration\":"
                     "\"caregiver\"}}", id, id, i, i % 18);
            s = hv_case_register(e, input, HV_REGISTER_FORCE, &out);
            if (s == HV_OK)
                printf("registered %s\n", out);
            hv_free(out);
        } else {
            shared_ref((int)(rand_r(&seed) % SHARED), ref, sizeof ref);
            long long v = version_of(e, ref);
            int64_t now = 0;
            char text[64];
            snprintf(text, sizeof text, "note %d-%d", id, i);
            s = hv_case_note(e, ref, text, v, &now);
            if (s == HV_OK)
                printf("noted %s\n", ref);
            else if (s == HV_CONFLICT)
                printf("stale %s\n", ref);
        }
        if (s == HV_BUSY)
            printf("busy\n");
        else if (s != HV_OK && s != HV_CONFLICT)
            printf("failed %s %s\n", hv_status_name(s), hv_errmsg(e));
        fflush(stdout);
    }
    hv_engine_close(e);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: pg-concurrency DB N P\n");
        return 64;
    }
    int n = atoi(argv[2]), p = atoi(argv[3]);
    for (int id = 0; id < p; id++) {
        pid_t pid = fork();
        if (pid == 0) {
            char name[64];
            snprintf(name, sizeof name, "out.%d", id);
            if (!freopen(name, "w", stdout))
                _exit(1);
            _exit(worker(argv[1], id, n));
        }
    }
    int bad = 0, status;
    while (wait(&status) > 0)
        bad |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    return bad;
}
