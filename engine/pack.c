/* pack.c - reading a rule pack folder (pack.yaml and hook files), its
 * content hash, and its JSON form for the database. */
#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
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
    json_decref(p->codes);
    json_decref(p->fields);
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

/* pack.yaml's shape (for messages). */
#define PACK_SHAPE                                                             \
    "pack.yaml is a mapping of name, version, description, budget, needs "    \
    "(fields: NAME: code|number|boolean) and codes (CODE: wording)"
#define MAX_FIELDS 64
#define MAX_CODES 1000
#define MAX_WORDING 200

static const char *const field_types[] = {"code", "number", "boolean", NULL};

/* Where the parser is: the root mapping, needs, needs.fields or codes. */
typedef enum { AT_ROOT, AT_NEEDS, AT_FIELDS, AT_CODES } yaml_place;

typedef struct {
    hv_pack *p;
    const char *path;
    char **err;
    yaml_place at;  /* the mapping the parser is in (depth >= 1) */
    int depth;      /* of mappings */
    char *key;      /* the key waiting for its value, or NULL */
    int key_line;
    int line, col;  /* of the event */
} yaml_state;

/* Sets the error "path:line:col: what" and returns HV_INVALID. */
static hv_status yaml_bad(yaml_state *y, int line, int col, const char *what,
                          const char *arg)
{
    char text[400];
    snprintf(text, sizeof text, what, arg ? arg : "");
    *y->err = hv__asprintf("%s:%d:%d: %s", y->path, line, col, text);
    return *y->err ? HV_INVALID : HV_NOMEM;
}

/* 1 if s is a code: [a-z][a-z0-9_]*, at most 64 bytes. */
static int is_code(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64 || !(*s >= 'a' && *s <= 'z'))
        return 0;
    for (const char *c = s; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_'))
            return 0;
    return 1;
}

/* A scalar of the root mapping: the value v of key y->key. */
static hv_status root_value(yaml_state *y, const char *v)
{
    hv_pack *p = y->p;
    const char *key = y->key;
    if (!strcmp(key, "budget")) {
        char *end;
        long b = strtol(v, &end, 10);
        if (*end || b < 1000 || b > 100000000)
            return yaml_bad(y, y->line, y->col, "budget: a whole number of "
                            "instructions from 1000 to 100000000", NULL);
        p->budget = b;
        return HV_OK;
    }
    char **slot = !strcmp(key, "name")          ? &p->name
                  : !strcmp(key, "version")     ? &p->version
                  : !strcmp(key, "description") ? &p->description
                                                : NULL;
    if (!strcmp(key, "needs") || !strcmp(key, "codes"))
        return yaml_bad(y, y->key_line, 1, "%s: must be a mapping", key);
    if (!slot)
        return yaml_bad(y, y->key_line, 1, "unknown key '%.40s' (" PACK_SHAPE ")",
                        key);
    if (*slot)
        return yaml_bad(y, y->key_line, 1, "duplicate key '%.40s'", key);
    return (*slot = hv__strdup(v)) ? HV_OK : HV_NOMEM;
}

/* A field the pack reads (needs.fields): name y->key of type v. */
static hv_status field_value(yaml_state *y, const char *v)
{
    if (!is_code(y->key))
        return yaml_bad(y, y->key_line, 1, "needs.fields: a field name is "
                        "lower-case letters, digits and _ ([a-z][a-z0-9_]*)",
                        NULL);
    int known = 0;
    for (const char *const *t = field_types; *t; t++)
        known |= !strcmp(*t, v);
    if (!known)
        return yaml_bad(y, y->line, y->col, "needs.fields.%s: the type is "
                        "code, number or boolean", y->key);
    if (json_object_get(y->p->fields, y->key))
        return yaml_bad(y, y->key_line, 1, "needs.fields: '%s' twice", y->key);
    if (json_object_size(y->p->fields) >= MAX_FIELDS)
        return yaml_bad(y, y->key_line, 1, "needs.fields: at most 64 fields",
                        NULL);
    return json_object_set_new(y->p->fields, y->key, json_string(v))
               ? HV_NOMEM : HV_OK;
}

/* A code the pack's results may hold (codes): y->key worded v. */
static hv_status code_value(yaml_state *y, const char *v)
{
    if (!is_code(y->key))
        return yaml_bad(y, y->key_line, 1, "codes: a code is lower-case "
                        "letters, digits and _ ([a-z][a-z0-9_]*, at most 64 "
                        "bytes)", NULL);
    size_t n = strlen(v);
    int plain = n > 0 && n <= MAX_WORDING;
    for (const char *c = v; plain && *c; c++)
        plain = (unsigned char)*c >= 0x20 && *c != 0x7f;
    if (!plain)
        return yaml_bad(y, y->line, y->col, "codes.%s: the wording is one "
                        "line of 1 to 200 bytes", y->key);
    if (json_object_get(y->p->codes, y->key))
        return yaml_bad(y, y->key_line, 1, "codes: '%s' twice", y->key);
    if (json_object_size(y->p->codes) >= MAX_CODES)
        return yaml_bad(y, y->key_line, 1, "codes: at most 1000 codes", NULL);
    return json_object_set_new(y->p->codes, y->key, json_string(v))
               ? HV_NOMEM : HV_OK;
}

/* A mapping starts: the root, or the value of y->key (needs, needs.fields
 * or codes). */
static hv_status yaml_enter(yaml_state *y)
{
    if (y->depth == 0 && !y->key) {
        y->depth = 1;
        y->at = AT_ROOT;
        return HV_OK;
    }
    yaml_place to = y->at == AT_ROOT && y->key && !strcmp(y->key, "needs")
                        ? AT_NEEDS
                    : y->at == AT_ROOT && y->key && !strcmp(y->key, "codes")
                        ? AT_CODES
                    : y->at == AT_NEEDS && y->key && !strcmp(y->key, "fields")
                        ? AT_FIELDS
                        : AT_ROOT;
    if (to == AT_ROOT)
        return yaml_bad(y, y->line, y->col, PACK_SHAPE "%s", "");
    json_t **seen = to == AT_CODES ? &y->p->codes : &y->p->fields;
    if (to != AT_NEEDS && *seen)
        return yaml_bad(y, y->key_line, 1, "duplicate key '%.40s'", y->key);
    if (to != AT_NEEDS && !(*seen = json_object()))
        return HV_NOMEM;
    y->depth++;
    y->at = to;
    hv__free(y->key);
    y->key = NULL;
    return HV_OK;
}

/* A scalar: a key, or the value of the key before it. */
static hv_status yaml_scalar(yaml_state *y, const char *v)
{
    if (y->depth == 0)
        return yaml_bad(y, y->line, y->col, PACK_SHAPE "%s", "");
    if (!y->key) {
        y->key_line = y->line;
        return (y->key = hv__strdup(v)) ? HV_OK : HV_NOMEM;
    }
    hv_status st = y->at == AT_ROOT     ? root_value(y, v)
                   : y->at == AT_FIELDS ? field_value(y, v)
                   : y->at == AT_CODES  ? code_value(y, v)
                                        : yaml_bad(y, y->key_line, 1,
                                                   "needs: unknown key '%.40s' "
                                                   "(needs takes fields)",
                                                   y->key);
    hv__free(y->key);
    y->key = NULL;
    return st;
}

/* Parses pack.yaml: name, version, description, budget, needs.fields and
 * codes (see PACK_SHAPE); no anchors, aliases or lists. */
static hv_status parse_pack_yaml(hv_pack *p, const char *path, char **err)
{
    yaml_parser_t parser;
    yaml_event_t ev;
    hv_status st = HV_OK;
    yaml_state y = {p, path, err, AT_ROOT, 0, NULL, 0, 0, 0};
    int done = 0;
    if (!yaml_parser_initialize(&parser))
        return HV_NOMEM;
    yaml_parser_set_input_string(&parser, (const unsigned char *)p->pack_yaml,
                                 strlen(p->pack_yaml));
    while (!done && st == HV_OK) {
        if (!yaml_parser_parse(&parser, &ev)) {
            *err = hv__asprintf("%s:%zu:%zu: %s", path,
                                parser.problem_mark.line + 1,
                                parser.problem_mark.column + 1,
                                parser.problem ? parser.problem : "bad YAML");
            st = HV_INVALID;
            break;
        }
        y.line = (int)ev.start_mark.line + 1;
        y.col = (int)ev.start_mark.column + 1;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT: done = 1; break;
        case YAML_MAPPING_START_EVENT:
            st = ev.data.mapping_start.anchor
                     ? yaml_bad(&y, y.line, y.col, PACK_SHAPE "%s", "")
                     : yaml_enter(&y);
            break;
        case YAML_MAPPING_END_EVENT:
            y.depth--;
            y.at = y.at == AT_FIELDS ? AT_NEEDS : AT_ROOT;
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_ALIAS_EVENT:
            st = yaml_bad(&y, y.line, y.col, PACK_SHAPE "%s", "");
            break;
        case YAML_SCALAR_EVENT:
            st = ev.data.scalar.anchor
                     ? yaml_bad(&y, y.line, y.col, PACK_SHAPE "%s", "")
                     : yaml_scalar(&y, (const char *)ev.data.scalar.value);
            break;
        default: break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&parser);
    hv__free(y.key);
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
    if (st == HV_OK && ((!p->codes && !(p->codes = json_object())) ||
                        (!p->fields && !(p->fields = json_object()))))
        st = HV_NOMEM;
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
    *err = NULL;
    hv_pack *p = hv__calloc(1, sizeof *p);
    if (!p)
        return HV_NOMEM;
    p->dir = member(o, "dir");
    p->pack_yaml = member(o, "pack_yaml");
    p->budget = HV_RULES_DEFAULT_BUDGET;
    json_t *files = json_object_get(o, "files");
    for (int i = 0; i < HV_HOOK_COUNT; i++)
        p->sources[i] = member(files, hook_files[i]);
    /* name, version, budget, needs and codes: from the stored pack.yaml */
    char *why = NULL;
    hv_status st = p->pack_yaml ? parse_pack_yaml(p, "pack.yaml", &why)
                                : HV_CORRUPT;
    hv__free(why);
    if (st != HV_OK) {
        hv__pack_free(p);
        if (st == HV_NOMEM)
            return HV_NOMEM;
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

const char *hv__pack_wording(const hv_pack *p, const char *code)
{
    return json_string_value(json_object_get(p->codes, code));
}

int hv__pack_is_code(const char *s)
{
    return is_code(s);
}
