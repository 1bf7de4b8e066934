/* pack.c - reading a rule pack folder (pack.yaml and hook files), its
 * content hash, and its JSON form for the database. */
#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <yaml.h>

#include "alloc.h"
#include "fileio.h"
#include "pack.h"

#define MAX_HOOK_BYTES (256 * 1024)

static const char *const hook_names[HV_HOOK_COUNT] = {
    "registration", "risk", "followup", "closure", "assessment", "review"};
static const char *const hook_files[HV_HOOK_COUNT] = {
    "registration.lua", "risk.lua",       "followup.lua",
    "closure.lua",      "assessment.lua", "review.lua"};

const char *hv__hook_name(hv_hook h) { return hook_names[h]; }
const char *hv__hook_file(hv_hook h) { return hook_files[h]; }
/* 1 for the hooks every pack must have (registration, risk, followup,
 * closure), else 0. */
static int hook_required(hv_hook h)
{
    return h <= HV_HOOK_CLOSURE;
}

void hv__pack_free(hv_pack *p)
{
    if (!p)
        return;
    hv__free(p->name);
    hv__free(p->version);
    hv__free(p->description);
    hv__free(p->dir);
    hv__free(p->pack_yaml);
    for (int i = 0; i < HV_HOOK_COUNT; i++)
        hv__free(p->sources[i]);
    hv__free(p);
}

/* Reads a file of at most limit bytes.  Returns HV_NOINPUT if it does not
 * exist (and *out NULL), HV_INVALID if too large. */
static hv_status read_file(const char *path, size_t limit, char **out,
                           char **err)
{
    size_t n;
    hv_status st = hv__read_file(path, limit, 1, out, &n, err);
    if (st != HV_OK)
        return st;
    if (n > limit)
        *err = hv__asprintf("%s: larger than %zu bytes", path, limit);
    else if (strlen(*out) != n)
        *err = hv__asprintf("%s: contains a NUL byte (binary files are not "
                            "allowed)", path);
    else
        return HV_OK;
    hv__free(*out);
    *out = NULL;
    return HV_INVALID;
}

/* Parses pack.yaml: a flat mapping of name, version, description, budget. */
static hv_status parse_pack_yaml(hv_pack *p, const char *path, char **err)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    hv_status st = HV_OK;
    char *key = NULL;
    int depth = 0, done = 0, key_line = 0;
    if (!yaml_parser_initialize(&parser))
        return HV_NOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)p->pack_yaml,
                                 strlen(p->pack_yaml));
    while (!done) {
        if (!yaml_parser_parse(&parser, &ev)) {
            *err = hv__asprintf("%s:%zu:%zu: %s", path,
                                parser.problem_mark.line + 1,
                                parser.problem_mark.column + 1,
                                parser.problem ? parser.problem : "bad YAML");
            st = HV_INVALID;
            break;
        }
        int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT: done = 1; break;
        case YAML_MAPPING_START_EVENT:
            if (++depth > 1 || ev.data.mapping_start.anchor) {
                *err = hv__asprintf("%s:%d:%d: pack.yaml is a flat mapping of "
                                    "name, version, description, budget",
                                    path, line, col);
                st = HV_INVALID;
            }
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_ALIAS_EVENT:
            *err = hv__asprintf("%s:%d:%d: pack.yaml is a flat mapping of "
                                "name, version, description, budget",
                                path, line, col);
            st = HV_INVALID;
            break;
        case YAML_SCALAR_EVENT: {
            const char *v = (const char *)ev.data.scalar.value;
            if (depth != 1) {
                *err = hv__asprintf("%s:%d:%d: pack.yaml must be a mapping",
                                    path, line, col);
                st = HV_INVALID;
                break;
            }
            if (!key) {
                key = hv__strdup(v);
                key_line = line;
                if (!key)
                    st = HV_NOMEM;
                break;
            }
            char **slot = !strcmp(key, "name")          ? &p->name
                          : !strcmp(key, "version")     ? &p->version
                          : !strcmp(key, "description") ? &p->description
                                                        : NULL;
            if (!strcmp(key, "budget")) {
                char *end;
                long b = strtol(v, &end, 10);
                if (*end || b < 1000 || b > 100000000) {
                    *err = hv__asprintf("%s:%d:%d: budget: a whole number of "
                                        "instructions from 1000 to 100000000",
                                        path, line, col);
                    st = HV_INVALID;
                }
                p->budget = b;
            } else if (!slot) {
                *err = hv__asprintf("%s:%d:1: unknown key '%.40s' (allowed: "
                                    "name, version, description, budget)",
                                    path, key_line, key);
                st = HV_INVALID;
            } else if (*slot) {
                *err = hv__asprintf("%s:%d:1: duplicate key '%s'", path,
                                    key_line, key);
                st = HV_INVALID;
            } else if (!(*slot = hv__strdup(v))) {
                st = HV_NOMEM;
            }
            hv__free(key);
            key = NULL;
            break;
        }
        default: break;
        }
        yaml_event_delete(&ev);
        if (st != HV_OK)
            break;
    }
    yaml_parser_delete(&parser);
    hv__free(key);
    if (st == HV_OK && (!p->name || !p->version)) {
        *err = hv__asprintf("%s: needs name and version", path);
        st = HV_INVALID;
    }
    if (st == HV_OK) {
        for (const char *c = p->name; *c; c++)
            if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) &&
                *c != '_' && *c != '-') {
                *err = hv__asprintf("%s: name: lower-case letters, digits, _ "
                                    "and - only", path);
                return HV_INVALID;
            }
    }
    return st;
}

/* Computes p->hash over pack.yaml and the hook files, in hook order. */
static void compute_hash(hv_pack *p)
{
    crypto_hash_sha256_state h;
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const unsigned char *)"pack.yaml", 10);
    crypto_hash_sha256_update(&h, (const unsigned char *)p->pack_yaml,
                              strlen(p->pack_yaml) + 1);
    for (int i = 0; i < HV_HOOK_COUNT; i++) {
        if (!p->sources[i])
            continue;
        crypto_hash_sha256_update(&h, (const unsigned char *)hook_files[i],
                                  strlen(hook_files[i]) + 1);
        crypto_hash_sha256_update(&h, (const unsigned char *)p->sources[i],
                                  strlen(p->sources[i]) + 1);
    }
    crypto_hash_sha256_final(&h, digest);
    sodium_bin2hex(p->hash, sizeof p->hash, digest, sizeof digest);
}

hv_status hv__pack_read_dir(const char *dir, hv_pack **out, char **err)
{
    hv_status st;
    char path[4096];
    *out = NULL;
    *err = NULL;
    if (sodium_init() < 0)
        return HV_INTERNAL;
    hv_pack *p = hv__calloc(1, sizeof *p);
    if (!p || !(p->dir = hv__strdup(dir))) {
        hv__pack_free(p);
        return HV_NOMEM;
    }
    p->budget = HV_RULES_DEFAULT_BUDGET;
    snprintf(path, sizeof path, "%s/pack.yaml", dir);
    st = read_file(path, 64 * 1024, &p->pack_yaml, err);
    if (st == HV_NOINPUT && !*err)
        *err = hv__asprintf("%s: no pack.yaml: not a rule pack folder", dir);
    if (st != HV_OK || (st = parse_pack_yaml(p, path, err)) != HV_OK)
        goto fail;
    for (int i = 0; i < HV_HOOK_COUNT; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, hook_files[i]);
        st = read_file(path, MAX_HOOK_BYTES, &p->sources[i], err);
        if (st == HV_NOINPUT && !*err) {
            if (!hook_required((hv_hook)i))
                continue;
            *err = hv__asprintf("%s: missing (every pack has registration.lua,"
                                " risk.lua, followup.lua and closure.lua)",
                                path);
            st = HV_INVALID;
        }
        if (st != HV_OK)
            goto fail;
    }
    compute_hash(p);
    *out = p;
    return HV_OK;
fail:
    hv__pack_free(p);
    if (st == HV_NOMEM && !*err)
        *err = hv__strdup("out of memory reading a rule pack");
    return st;
}

json_t *hv__pack_to_json(const hv_pack *p)
{
    json_t *files = json_object();
    json_t *o = json_pack("{s:s,s:s,s:s?,s:I,s:s,s:s,s:s}", "name", p->name,
                          "version", p->version, "description", p->description,
                          "budget", (json_int_t)p->budget, "hash", p->hash,
                          "dir", p->dir ? p->dir : "", "pack_yaml",
                          p->pack_yaml);
    if (!o || !files) {
        json_decref(o);
        json_decref(files);
        return NULL;
    }
    int bad = 0;
    for (int i = 0; i < HV_HOOK_COUNT; i++)
        if (p->sources[i])
            bad |= json_object_set_new(files, hook_files[i],
                                       json_string(p->sources[i]));
    bad |= json_object_set_new(o, "files", files);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* A malloc'd copy of a string member, or NULL. */
static char *member(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? hv__strdup(s) : NULL;
}

hv_status hv__pack_from_json(json_t *o, hv_pack **out, char **err)
{
    *out = NULL;
    hv_pack *p = hv__calloc(1, sizeof *p);
    if (!p)
        return HV_NOMEM;
    p->name = member(o, "name");
    p->version = member(o, "version");
    p->description = member(o, "description");
    p->dir = member(o, "dir");
    p->pack_yaml = member(o, "pack_yaml");
    p->budget = (long)json_integer_value(json_object_get(o, "budget"));
    json_t *files = json_object_get(o, "files");
    for (int i = 0; i < HV_HOOK_COUNT; i++)
        p->sources[i] = member(files, hook_files[i]);
    if (!p->name || !p->version || !p->pack_yaml || p->budget <= 0) {
        hv__pack_free(p);
        *err = hv__strdup("stored rule pack is damaged");
        return HV_CORRUPT;
    }
    compute_hash(p);
    const char *stored = json_string_value(json_object_get(o, "hash"));
    if (!stored || strcmp(stored, p->hash) != 0) {
        hv__pack_free(p);
        *err = hv__strdup("stored rule pack does not match its hash");
        return HV_CORRUPT;
    }
    *out = p;
    return HV_OK;
}
