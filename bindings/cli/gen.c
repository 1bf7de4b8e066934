/*
 * gen.c - a synthetic caseload through the engine's public API.
 *
 * Each child i gets two random streams derived from (seed, i): one for who
 * the child is (name, age, family, location, concerns, source) and one for
 * what happens to the case (the dated steps of its history).  A first pass
 * over the plans alone counts the cases still open on the last day, so the
 * caseworkers can be given 20-60 open cases each; the second pass registers
 * each child and walks its history on the engine's simulated clock, the
 * caseworker acting, the supervisor approving.  Cases are taken one after
 * the other, so event times go back when the next child is registered; the
 * audit chain orders by sequence, not time.
 */
#include "gen.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#define DAY 86400
#define HOUR 3600
#define TEAM_SIZE 6
#define MAX_STEPS 96
#define DEFAULT_END ((hv_time)1795856400) /* 2026-11-28T09:00:00Z */

/* ---- a small deterministic random source (splitmix64) ---- */

typedef struct {
    uint64_t s;
} rng;

/* The next 64 random bits of r (splitmix64); advances r. */
static uint64_t rnext(rng *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* A random stream for child i and purpose which under seed: the same
 * arguments always give the same stream. */
static rng rstream(uint64_t seed, uint64_t i, uint64_t which)
{
    rng r = {seed * 0xD1B54A32D192ED03ull ^ (i + 1) * 0x8CB92BA72F3D8DD7ull ^ which};
    rnext(&r);
    return r;
}

/* Uniform in [lo, hi]. */
static long rrange(rng *r, long lo, long hi)
{
    return lo + (long)(rnext(r) % (uint64_t)(hi - lo + 1));
}

/* 1 with probability percent/100. */
static int rchance(rng *r, int percent) { return (long)(rnext(r) % 100) < percent; }

/* An index skewed toward the start of a list of n (common codes first). */
static size_t rskew(rng *r, size_t n)
{
    double u = (double)(rnext(r) >> 11) / 9007199254740992.0;
    size_t k = (size_t)(u * u * (double)n);
    return k < n ? k : n - 1;
}

/* ---- who the children are ---- */

/* Names are made from syllables, so a national caseload has about as many
 * distinct names as a real one (a few short lists would make every child a
 * possible duplicate of hundreds of others). */
static const char *const syllables[] = {
    "a",  "ba", "da", "e",  "fa", "ha", "i",  "ja", "ka", "la", "ma", "na",
    "o",  "ra", "sa", "ta", "u",  "wa", "ya", "za", "bi", "di", "fi", "hi",
    "ki", "li", "mi", "ni", "ri", "si", "ti", "zi", "bo", "do", "ko", "lo",
    "mo", "no", "ro", "so", "to", "bu", "du", "ku", "lu", "mu", "nu", "ru",
    "su", "tu", "el", "an", "ar", "in", "is", "om", "un", "ez"};
static const char *const girl_endings[] = {"a", "ia", "ina", "ah", "ira", "ene", "is", "ey"};
static const char *const boy_endings[] = {"o", "an", "im", "ed", "ir", "us", "el", "ik"};
static const char *const family_endings[] = {
    "", "ani", "ov", "ez", "ua", "ian", "ou", "awi", "ski", "ete", "oro", "enga"};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* A capitalised name of 1-3 syllables and an ending into buf. */
static void make_name(rng *r, int parts, const char *const *endings, size_t nend,
                      char *buf, size_t size)
{
    size_t n = 0;
    buf[0] = '\0';
    for (int k = 0; k < parts; k++)
        n += (size_t)snprintf(buf + n, size - n, "%s",
                              syllables[rnext(r) % COUNT(syllables)]);
    snprintf(buf + n, size - n, "%s", endings[rnext(r) % nend]);
    if (buf[0] >= 'a' && buf[0] <= 'z')
        buf[0] = (char)(buf[0] - 'a' + 'A');
}

static const char *const districts[] = {
    "Riverside", "Northgate", "Eastfield", "Westbrook", "Hillcrest", "Lakeside",
    "Southport", "Old Town", "Greenvale", "Stonebridge", "Harbour", "Meadowland"};
static const char *const areas[] = {
    "Market Quarter", "Station Road", "Camp 2", "Camp 5", "Upper Village",
    "Lower Village", "Mill Lane", "Church Street"};
static const char *const risks[] = {
    "caregiver_stress", "school_absence", "unsafe_housing", "conflict_at_home",
    "isolation", "substance_use_in_home", "no_income", "exposure_to_violence"};
static const char *const strengths[] = {
    "school", "extended_family", "caring_parent", "community_support",
    "faith_group", "peer_friends", "health_services"};
static const char *const needs[] = {
    "psychosocial_support", "school_support", "income_support", "safe_place",
    "health_care", "legal_advice", "family_mediation"};

/* ---- what happens to each case ---- */

enum {
    S_ASSESS_INITIAL,
    S_ASSESS_FULL,
    S_PLAN,
    S_APPROVE_PLAN,
    S_REFER,
    S_REFER_ACCEPTED,
    S_REFER_DONE,
    S_ACT,
    S_FOLLOWUP,
    S_REVIEW,
    S_CLOSE,
    S_APPROVE_CLOSE,
    S_FINAL
};

typedef struct {
    hv_time at;
    int kind;
    int a, b; /* step-specific choices */
} gstep;

typedef struct {
    hv_time reg;
    int consent_referral;  /* the family agreed to referrals */
    int nsteps;
    gstep steps[MAX_STEPS];
    int closes;            /* the closure is approved before the last day */
    int stalled;           /* the history stops early: its tasks fall late */
} gplan;

/* qsort's order of planned steps: by time, then by kind. */
static int step_cmp(const void *pa, const void *pb)
{
    const gstep *a = pa, *b = pb;
    if (a->at != b->at)
        return a->at < b->at ? -1 : 1;
    return a->kind - b->kind;
}

/* Appends a step (kind at time at, with a and b) to the plan p; a full plan
 * drops it. */
static void add(gplan *p, hv_time at, int kind, int a, int b)
{
    if (p->nsteps < MAX_STEPS)
        p->steps[p->nsteps++] = (gstep){at, kind, a, b};
}

/* The plan of case i: its registration time and the dated steps that
 * happen before the end (a stalled case stops early and has late tasks). */
static void make_plan(const gen_options *o, hv_time end, long i, gplan *p)
{
    rng r = rstream(o->seed, (uint64_t)i, 0x5157);
    int span = o->span_days > 0 ? o->span_days : 730;
    hv_time start = end - (hv_time)span * DAY;
    double slot = (double)span * DAY / (double)o->cases;
    memset(p, 0, sizeof *p);
    p->reg = start + (hv_time)(slot * (double)i) + rrange(&r, 0, (long)slot);
    p->consent_referral = rchance(&r, 60);
    hv_time t = p->reg;
    add(p, t += rrange(&r, 2 * HOUR, 60 * HOUR), S_ASSESS_INITIAL,
        rchance(&r, 85) ? 0 : rchance(&r, 80) ? 1 : 2, 0);
    add(p, t += rrange(&r, 2 * DAY, 14 * DAY), S_ASSESS_FULL, (int)rrange(&r, 0, 2),
        (int)rrange(&r, 0, 3));
    add(p, t += rrange(&r, 1 * DAY, 6 * DAY), S_PLAN, (int)rrange(&r, 7, 30),
        (int)rrange(&r, 25, 70));
    add(p, t += rrange(&r, 2 * HOUR, 3 * DAY), S_APPROVE_PLAN, 0, 0);
    hv_time approved = t;
    const gstep *plan = &p->steps[2];
    if (p->consent_referral && rchance(&r, 70)) {
        hv_time sent = approved + rrange(&r, DAY, 5 * DAY);
        add(p, sent, S_REFER, (int)rrange(&r, 0, 100), 0);
        /* The provider accepts within the week and has helped within
         * the month. */
        hv_time accepted = sent + rrange(&r, HOUR, 7 * DAY);
        add(p, accepted, S_REFER_ACCEPTED, 0, 0);
        add(p, accepted + rrange(&r, 5 * DAY, 30 * DAY), S_REFER_DONE, 0, 0);
    }
    add(p, plan->at + (hv_time)plan->a * DAY - rrange(&r, 0, 3 * DAY), S_ACT, 1, 0);
    add(p, plan->at + (hv_time)plan->b * DAY - rrange(&r, 0, 3 * DAY), S_ACT, 2, 0);
    hv_time close_at = p->reg + rrange(&r, 75, 420) * DAY;
    if (close_at < plan->at + (hv_time)plan->b * DAY + 35 * DAY)
        close_at = plan->at + (hv_time)plan->b * DAY + 35 * DAY;
    for (hv_time f = approved + rrange(&r, 7 * DAY, 18 * DAY); f < close_at - 2 * DAY;
         f += rrange(&r, 9 * DAY, 30 * DAY)) {
        /* The last follow-ups before closure are safe ones. */
        int late = f > close_at - 45 * DAY;
        int safety = late || rchance(&r, 88) ? 0 : rchance(&r, 90) ? 1 : 2;
        add(p, f, S_FOLLOWUP, (int)rrange(&r, 0, 100), safety);
    }
    for (hv_time rv = approved + 90 * DAY; rv < close_at - 5 * DAY; rv += 90 * DAY)
        add(p, rv, S_REVIEW, 0, 0);
    add(p, close_at - DAY, S_REVIEW, 1, 0);
    add(p, close_at, S_CLOSE, (int)rrange(&r, 0, 100), 0);
    add(p, close_at + rrange(&r, 4 * HOUR, 3 * DAY), S_APPROVE_CLOSE, 0, 0);
    add(p, close_at + rrange(&r, 85 * DAY, 100 * DAY), S_FINAL, (int)rrange(&r, 0, 100), 0);
    qsort(p->steps, (size_t)p->nsteps, sizeof p->steps[0], step_cmp);
    /* Some cases stall: the history stops and their tasks fall late. */
    int walked = o->history_percent == 0 ||
                 (o->history_percent > 0 && rchance(&r, o->history_percent));
    if (!walked)
        p->nsteps = 0;
    else if (rchance(&r, 7)) {
        p->nsteps = (int)rrange(&r, 0, p->nsteps - 1);
        p->stalled = 1;
    }
    int n = 0;
    while (n < p->nsteps && p->steps[n].at < end)
        n++;
    p->nsteps = n;
    for (int k = 0; k < n; k++)
        if (p->steps[k].kind == S_APPROVE_CLOSE)
            p->closes = 1;
}

/* ---- running it ---- */

typedef struct {
    hv_engine *e;
    const gen_options *o;
    hv_time end;
    const hv_workflow *wf;
    const char *const *concerns, *const *sources, *const *services, *const *methods,
        *const *reasons;
    size_t nconcerns, nsources, nservices, nmethods, nreasons;
    long ncw;        /* caseworkers */
    int *cap;        /* open cases each caseworker is to get */
    long cw_fill;    /* the caseworker being filled with open cases */
    int cw_used;
    gen_stats *st;
    char **err;
} gen;

/* The codes of the workflow's lookup name (*n of them, borrowed from wf),
 * or NULL with *n 0. */
static const char *const *lookup(const hv_workflow *wf, const char *name, size_t *n)
{
    for (size_t i = 0; i < hv_workflow_lookup_count(wf); i++)
        if (!strcmp(hv_workflow_lookup_name(wf, i), name))
            return hv_workflow_lookup_codes(wf, i, n);
    *n = 0;
    return NULL;
}

/* Records in *g->err (malloc'd) what failed with the engine's message;
 * returns s. */
static hv_status failf(gen *g, hv_status s, const char *what)
{
    const char *why = hv_errmsg(g->e);
    size_t n = strlen(what) + strlen(why) + 8;
    if (g->err && (*g->err = malloc(n)))
        snprintf(*g->err, n, "%s: %s", what, why && *why ? why : hv_strerror(s));
    return s;
}

/* Writes the date (YYYY-MM-DD) of t into buf. */
static void date_text(hv_time t, char *buf, size_t size)
{
    char full[32];
    hv_time_format(t, full, sizeof full);
    snprintf(buf, size, "%.10s", full);
}

/* Writes the login of caseworker k (cw0001...) into buf. */
static void login_cw(long k, char *buf, size_t size)
{
    snprintf(buf, size, "cw%04ld", k + 1);
}

/* Writes the login of caseworker k's supervisor (sup001..., a team of
 * TEAM_SIZE) into buf. */
static void login_sup(long k, char *buf, size_t size)
{
    snprintf(buf, size, "sup%03ld", k / TEAM_SIZE + 1);
}

/* Adds a user unless one with that login exists.  Returns the status (HV_OK
 * for an existing one). */
static hv_status add_user(gen *g, const char *login, const char *role,
                          const char *supervisor)
{
    hv_status s = hv_user_add(g->e, login, role, supervisor);
    if (s == HV_INVALID && strstr(hv_errmsg(g->e), "already exists"))
        return HV_OK;
    return s == HV_OK ? s : failf(g, s, "adding users");
}

/* Makes the caseload's users (caseworkers, supervisors, a manager) acting
 * as admin.  Returns the status, with *g->err set on failure. */
static hv_status make_users(gen *g, const char *admin)
{
    hv_status s;
    char login[32], sup[32];
    if ((s = hv_engine_set_actor(g->e, admin)))
        return failf(g, s, "acting as the administrator");
    if ((s = add_user(g, "manager1", "manager", NULL)))
        return s;
    for (long k = 0; k < g->ncw; k++) {
        login_sup(k, sup, sizeof sup);
        if (k % TEAM_SIZE == 0) {
            if ((s = add_user(g, sup, "supervisor", NULL)))
                return s;
            g->st->supervisors++;
        }
        login_cw(k, login, sizeof login);
        if ((s = add_user(g, login, "caseworker", sup)))
            return s;
        g->st->caseworkers++;
    }
    return HV_OK;
}

/* Caseloads: `open` cases over round(open / 40) caseworkers, each given
 * 20-60 (the spread moved at random, the total kept). */
static int plan_caseloads(gen *g, long open)
{
    rng r = rstream(g->o->seed, 0, 0xCA5E);
    long k = (open + 20) / 40;
    if (k < 1)
        k = 1;
    g->ncw = k;
    g->cap = calloc((size_t)k, sizeof *g->cap);
    if (!g->cap)
        return -1;
    for (long i = 0; i < k; i++)
        g->cap[i] = (int)(open / k + (i < open % k));
    for (long n = 0; n < 3 * k && k > 1; n++) {
        long a = (long)(rnext(&r) % (uint64_t)k), b = (long)(rnext(&r) % (uint64_t)k);
        int d = (int)rrange(&r, 1, 15);
        if (a != b && g->cap[a] + d <= 60 && g->cap[b] - d >= 20) {
            g->cap[a] += d;
            g->cap[b] -= d;
        }
    }
    return 0;
}

/* The registration input of child i (the identity stream). */
static int registration_json(gen *g, long i, const gplan *p, char *buf, size_t size)
{
    rng r = rstream(g->o->seed, (uint64_t)i, 0x1D);
    int girl = rchance(&r, 52);
    char given[48], family[64], mother[48];
    make_name(&r, 1 + (int)(rnext(&r) % 2), girl ? girl_endings : boy_endings,
              girl ? COUNT(girl_endings) : COUNT(boy_endings), given, sizeof given);
    make_name(&r, 2 + (int)(rnext(&r) % 2), family_endings, COUNT(family_endings), family,
              sizeof family);
    make_name(&r, 1 + (int)(rnext(&r) % 2), girl_endings, COUNT(girl_endings), mother,
              sizeof mother);
    int age = (int)rrange(&r, 0, 17);
    const char *district = districts[rnext(&r) % COUNT(districts)];
    const char *area = areas[rnext(&r) % COUNT(areas)];
    const char *source = g->nsources ? g->sources[rskew(&r, g->nsources)] : "community";
    char concerns[256] = "";
    int nc = (int)rrange(&r, 1, 3);
    size_t used = 0;
    for (int k = 0; k < nc && g->nconcerns; k++) {
        const char *c = g->concerns[rskew(&r, g->nconcerns)];
        char quoted[128];
        snprintf(quoted, sizeof quoted, "\"%s\"", c);
        if (strstr(concerns, quoted))
            continue;
        int n = snprintf(concerns + used, sizeof concerns - used, "%s%s",
                         used ? "," : "", quoted);
        if (n < 0 || (size_t)n >= sizeof concerns - used) {
            concerns[used] = '\0'; /* codes too long for more: keep those in */
            break;
        }
        used += (size_t)n;
    }
    char fam[512];
    int nf = snprintf(fam, sizeof fam,
                      "{\"relationship\":\"mother\",\"name\":\"%s %s\","
                      "\"lives_with_child\":%s}",
                      mother, family, rchance(&r, 85) ? "true" : "false");
    if (rchance(&r, 60) && nf > 0)
        snprintf(fam + nf, sizeof fam - (size_t)nf,
                 ",{\"relationship\":\"sibling\",\"sex\":\"%s\",\"age\":%ld,"
                 "\"lives_with_child\":true}",
                 rchance(&r, 50) ? "female" : "male", rrange(&r, 1, 17));
    int n = snprintf(buf, size,
                     "{\"source\":\"%s\",\"location\":\"%s/%s\",\"concerns\":[%s],"
                     "\"child\":{\"name\":\"%s %s\",\"age\":%d,\"sex\":\"%s\"},"
                     "\"family\":[%s],\"consent\":{\"registration\":\"%s\"%s}}",
                     source, district, area, concerns, given, family, age,
                     girl ? "female" : "male", fam,
                     rchance(&r, 70) ? "caregiver" : "both",
                     p->consent_referral ? ",\"referral\":\"both\"" : "");
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/* The step's name and input. */
static const char *step_json(gen *g, const gplan *p, const gstep *s, char *buf,
                             size_t size, int *as_supervisor)
{
    static const char *const safety[] = {"ok", "concern", "urgent"};
    char d1[16], d2[16], d3[16];
    *as_supervisor = 0;
    switch (s->kind) {
    case S_ASSESS_INITIAL:
        snprintf(buf, size, "{\"kind\":\"initial\",\"safety\":\"%s\"}", safety[s->a]);
        return "assess";
    case S_ASSESS_FULL: {
        size_t n = (size_t)snprintf(
            buf, size,
            "{\"kind\":\"comprehensive\",\"safety\":\"ok\",\"elements\":{"
            "\"childs_views\":\"recorded\",\"family_relationships\":\"recorded\","
            "\"safe_environment\":\"recorded\",\"development_identity\":\"recorded\","
            "\"strengths_resources\":\"recorded\"},\"needs\":[\"%s\"],\"risks\":[",
            needs[(size_t)(p->reg / 7) % COUNT(needs)]);
        for (int k = 0; k < s->a; k++)
            n += (size_t)snprintf(buf + n, size - n, "%s\"%s\"", k ? "," : "",
                                  risks[(size_t)(p->reg / 11 + k) % COUNT(risks)]);
        n += (size_t)snprintf(buf + n, size - n, "],\"strengths\":[");
        for (int k = 0; k < s->b; k++)
            n += (size_t)snprintf(buf + n, size - n, "%s\"%s\"", k ? "," : "",
                                  strengths[(size_t)(p->reg / 13 + k) % COUNT(strengths)]);
        snprintf(buf + n, size - n, "]}");
        return "assess";
    }
    case S_PLAN:
        date_text(s->at + (hv_time)s->a * DAY, d1, sizeof d1);
        date_text(s->at + (hv_time)s->b * DAY, d2, sizeof d2);
        date_text(s->at + 200 * DAY, d3, sizeof d3);
        snprintf(buf, size,
                 "{\"goal\":\"The child is safe and supported at home and in school\","
                 "\"indicators\":[\"safe_at_followups\",\"attending_school\"],"
                 "\"target_date\":\"%s\",\"addresses\":[\"safety\"],\"actions\":["
                 "{\"title\":\"Direct support\",\"responsible\":\"caseworker\","
                 "\"type\":\"direct_support\",\"due\":\"%s\"},"
                 "{\"title\":\"Coordinate services\",\"responsible\":\"caseworker\","
                 "\"type\":\"referral\",\"due\":\"%s\"}]}",
                 d3, d1, d2);
        return "plan";
    case S_APPROVE_PLAN:
    case S_APPROVE_CLOSE:
        snprintf(buf, size, "{}");
        *as_supervisor = 1;
        return "approve";
    case S_REFER:
        snprintf(buf, size, "{\"service\":\"%s\",\"provider\":\"District provider\","
                            "\"action\":2}",
                 g->nservices ? g->services[(size_t)s->a % g->nservices] : "other");
        return "refer";
    case S_REFER_ACCEPTED:
        snprintf(buf, size, "{\"referral\":1,\"status\":\"accepted\"}");
        return "refer";
    case S_REFER_DONE:
        snprintf(buf, size, "{\"referral\":1,\"status\":\"completed\","
                            "\"outcome\":\"service_received\"}");
        return "refer";
    case S_ACT:
        snprintf(buf, size, "{\"action\":%d,\"status\":\"done\"}", s->a);
        return "act";
    case S_FOLLOWUP:
    case S_FINAL:
        snprintf(buf, size, "{\"method\":\"%s\",\"safety\":\"%s\"}",
                 g->nmethods ? g->methods[(size_t)s->a % g->nmethods] : "phone_call",
                 safety[s->kind == S_FINAL ? 0 : s->b]);
        return "followup";
    case S_REVIEW:
        snprintf(buf, size, "{\"outcome\":\"%s\"}", s->a ? "plan_closure" : "continue");
        return "review";
    case S_CLOSE:
        /* Mostly goals achieved; the rest spread over the other reasons. */
        /* "planned and discussed with the child and family" (seed 001):
         * the review the day before planned it. */
        snprintf(buf, size, "{\"reason\":\"%s\",\"discussed_with\":[\"child\",\"caregiver\"]}",
                 s->a < 60 || !g->nreasons ? "goals_achieved"
                                           : g->reasons[(size_t)s->a % g->nreasons]);
        return "close";
    }
    return NULL;
}

int gen_registration_json(hv_engine *e, unsigned long long seed, long i, char *buf,
                          size_t size)
{
    gen_options o = {.seed = seed, .cases = i + 1};
    gen g = {.e = e, .o = &o};
    g.wf = hv_engine_workflow(e);
    g.concerns = lookup(g.wf, "concerns", &g.nconcerns);
    g.sources = lookup(g.wf, "referral_sources", &g.nsources);
    gplan p = {.consent_referral = 1};
    return registration_json(&g, i, &p, buf, size);
}

/* Refusals a closure falls back from, in order. */
static const char *const close_fallbacks[] = {"no_longer_at_risk", "moved_out_of_area",
                                              "inaccessible", NULL};

/* A caseworker keeping up: the open case's tasks that fell due before the
 * last day are done shortly before or after their due time, as the rules
 * scheduled them (a follow-up as often as the risk demands, the review,
 * the plan's actions, a supervisor's approval), for at most a dozen rounds.
 * Stalled cases are left behind: their tasks stay late. */
static hv_status catch_up(gen *g, long i, const char *ref, const char *login,
                          const char *sup, hv_time last)
{
    rng r = rstream(g->o->seed, (uint64_t)i, 0xCA7C);
    for (int round = 0; round < 12; round++) {
        char *sum = NULL, json[256], *out = NULL;
        hv_status s = hv_case_summary_json(g->e, ref, &sum);
        if (s)
            return failf(g, s, "reading a case");
        json_t *v = json_loads(sum, 0, NULL), *t, *pick = NULL;
        hv_free(sum);
        hv_time due = 0, best = 0;
        size_t k;
        json_array_foreach(json_object_get(v, "open_tasks"), k, t) {
            hv_time d;
            if (hv_time_parse(json_string_value(json_object_get(t, "due_at")), &d) ||
                d >= g->end)
                continue;
            if (!pick || d < best) {
                pick = t;
                best = d;
            }
        }
        const char *kind = pick ? json_string_value(json_object_get(pick, "kind")) : NULL;
        const char *label = pick ? json_string_value(json_object_get(pick, "label")) : "";
        const char *step = NULL, *as = login;
        due = best;
        if (!kind) {
        } else if (!strcmp(kind, "followup") || !strcmp(kind, "final_followup")) {
            step = "followup";
            snprintf(json, sizeof json, "{\"method\":\"%s\",\"safety\":\"ok\"}",
                     g->nmethods ? g->methods[rnext(&r) % g->nmethods] : "phone_call");
        } else if (!strcmp(kind, "review")) {
            step = "review";
            snprintf(json, sizeof json, "{\"outcome\":\"continue\"}");
        } else if (!strcmp(kind, "action")) {
            int n = 0;
            if (sscanf(label, "Action %d", &n) == 1) {
                step = "act";
                snprintf(json, sizeof json, "{\"action\":%d,\"status\":\"done\"}", n);
            }
        } else if (!strcmp(kind, "approval")) {
            step = "approve";
            as = sup;
            snprintf(json, sizeof json, "{}");
        }
        json_decref(v);
        if (!step)
            return HV_OK;
        /* The first catch-up is in the last days before the end (the
         * case's planned history may have stopped long before); then each
         * task a little early or on the day, some a few days late. */
        hv_time at = round == 0 ? g->end - rrange(&r, 6 * HOUR, 4 * DAY)
                                : due - rrange(&r, 0, 2 * DAY) +
                                      (rchance(&r, 15) ? rrange(&r, DAY, 5 * DAY) : 0);
        if (at <= last)
            at = last + HOUR;
        if (at >= g->end)
            return HV_OK;
        if ((s = hv_clock_set(g->e, at)) || (s = hv_engine_set_actor(g->e, as)))
            return failf(g, s, "setting the clock");
        s = hv_case_step(g->e, ref, step, json, 0, &out);
        hv_free(out);
        if (s == HV_REFUSED || s == HV_INVALID || s == HV_DENIED || s == HV_NOTFOUND)
            return HV_OK;
        if (s)
            return failf(g, s, "catching up");
        g->st->steps++;
        last = at;
    }
    return HV_OK;
}

/* Registers child i with caseworker cw and walks it through its planned
 * steps p.  Returns the status, with *g->err set on failure; a step the
 * rules refuse is counted, not a failure. */
static hv_status run_case(gen *g, long i, const gplan *p, long cw)
{
    char login[32], sup[32], in[4096], json[2048], *ref = NULL;
    hv_status s;
    login_cw(cw, login, sizeof login);
    login_sup(cw, sup, sizeof sup);
    if (registration_json(g, i, p, in, sizeof in))
        return failf(g, HV_INTERNAL, "building a registration");
    if ((s = hv_clock_set(g->e, p->reg)) || (s = hv_engine_set_actor(g->e, login)))
        return failf(g, s, "setting the clock");
    s = hv_case_register(g->e, in, 0, &ref);
    if (s == HV_DUPLICATE) {
        /* The caseworker checks the possible duplicate: a different child. */
        g->st->duplicates_forced++;
        s = hv_case_register(g->e, in, HV_REGISTER_FORCE, &ref);
    }
    if (s)
        return failf(g, s, "registering");
    /* The pack's registration rule may find the child not eligible. */
    char *sum = NULL;
    if ((s = hv_case_summary_json(g->e, ref, &sum))) {
        hv_free(ref);
        return failf(g, s, "reading a registered case");
    }
    int eligible = !strstr(sum, "\"not_registered\"");
    hv_free(sum);
    if (!eligible) {
        g->st->not_registered++;
        hv_free(ref);
        return HV_OK;
    }
    g->st->registered++;
    int closed = 0;
    for (int k = 0; k < p->nsteps; k++) {
        const gstep *st = &p->steps[k];
        int as_sup;
        char *out = NULL;
        const char *step = step_json(g, p, st, json, sizeof json, &as_sup);
        if ((s = hv_clock_set(g->e, st->at)) ||
            (s = hv_engine_set_actor(g->e, as_sup ? sup : login)))
            break;
        s = hv_case_step(g->e, ref, step, json, 0, &out);
        for (int f = 0; s == HV_REFUSED && st->kind == S_CLOSE && close_fallbacks[f]; f++) {
            snprintf(json, sizeof json, "{\"reason\":\"%s\",\"discussed_with\":[\"child\",\"caregiver\"]}",
                     close_fallbacks[f]);
            s = hv_case_step(g->e, ref, step, json, 0, &out);
        }
        hv_free(out);
        if (s == HV_REFUSED && st->kind == S_FINAL) {
            /* Closed for a reason that needs no final follow-up. */
            s = HV_OK;
            break;
        }
        if (s == HV_REFUSED || s == HV_INVALID || s == HV_DENIED || s == HV_NOTFOUND) {
            /* The rules or the workflow said no (another workflow, another
             * pack): a follow-up, review, action or referral is skipped;
             * a step that moves the case stops its history here, as a
             * caseworker's would. */
            g->st->refused++;
            if (getenv("HAVEN_GEN_DEBUG"))
                fprintf(stderr, "gen: %s %s: %s\n", ref, step, hv_errmsg(g->e));
            s = HV_OK;
            if (st->kind == S_REFER || st->kind == S_REFER_ACCEPTED ||
                st->kind == S_REFER_DONE || st->kind == S_ACT ||
                st->kind == S_FOLLOWUP || st->kind == S_REVIEW)
                continue;
            break;
        }
        if (s)
            break;
        g->st->steps++;
        if (st->kind == S_APPROVE_CLOSE)
            closed = 1;
    }
    if (s)
        s = failf(g, s, "walking a case");
    /* A case walked through its plan and still open is kept up to date. */
    if (!s && !closed && !p->stalled && p->nsteps > 3)
        s = catch_up(g, i, ref, login, sup, p->steps[p->nsteps - 1].at);
    closed ? g->st->closed++ : g->st->open++;
    hv_free(ref);
    return s;
}

hv_status gen_run(hv_engine *e, const char *admin_login, const gen_options *o,
                  gen_stats *stats, char **err)
{
    gen g = {.e = e, .o = o, .st = stats, .err = err};
    hv_status s = HV_OK;
    gplan *p = malloc(sizeof *p);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(stats, 0, sizeof *stats);
    *err = NULL;
    if (!p)
        return HV_NOMEM;
    g.end = o->end ? o->end : DEFAULT_END;
    g.wf = hv_engine_workflow(e);
    g.concerns = lookup(g.wf, "concerns", &g.nconcerns);
    g.sources = lookup(g.wf, "referral_sources", &g.nsources);
    g.services = lookup(g.wf, "services", &g.nservices);
    g.methods = lookup(g.wf, "followup_methods", &g.nmethods);
    g.reasons = lookup(g.wf, "closure_reasons", &g.nreasons);

    /* Pass 1: how many cases are still open on the last day. */
    long open = 0;
    for (long i = 0; i < o->cases; i++) {
        make_plan(o, g.end, i, p);
        open += !p->closes;
    }
    if (plan_caseloads(&g, open)) {
        free(p);
        return HV_NOMEM;
    }
    /* Refused on a live database: synthetic cases go only into a
     * simulated one (gen makes a new database simulated). */
    if ((s = hv_clock_simulate(e, g.end)) || (s = make_users(&g, admin_login))) {
        if (!*err)
            failf(&g, s, "gen");
        goto done;
    }

    /* Pass 2: register and walk each case. */
    int batch = o->batch > 1 ? o->batch : 0, in_batch = 0;
    for (long i = 0; i < o->cases && !s; i++) {
        if (batch && !in_batch) {
            if ((s = hv_engine_batch_begin(e))) {
                s = failf(&g, s, "starting a batch");
                break;
            }
            in_batch = 1;
        }
        make_plan(o, g.end, i, p);
        long cw;
        if (!p->closes) {
            while (g.cw_fill < g.ncw - 1 && g.cw_used >= g.cap[g.cw_fill]) {
                g.cw_fill++;
                g.cw_used = 0;
            }
            cw = g.cw_fill;
            g.cw_used++;
        } else {
            rng r = rstream(o->seed, (uint64_t)i, 0xC105);
            cw = (long)(rnext(&r) % (uint64_t)g.ncw);
        }
        s = run_case(&g, i, p, cw);
        if (!s && in_batch && ((i + 1) % batch == 0 || i + 1 == o->cases)) {
            if ((s = hv_engine_batch_commit(e)))
                s = failf(&g, s, "committing a batch");
            in_batch = 0;
        }
        if (o->progress && (i + 1) % 10000 == 0)
            fprintf(o->progress, "gen: %ld cases\n", i + 1);
    }
    if (in_batch)
        hv_engine_batch_rollback(e);
done:
    clock_gettime(CLOCK_MONOTONIC, &t1);
    stats->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    free(g.cap);
    free(p);
    return s;
}
