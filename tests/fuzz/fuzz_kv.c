/* fuzz_kv.c - the command line's key=value parser (one argument a line)
 * and JSON input through the registration validator. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "kv.h"

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);
int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    static const kv_field fields[] = {
        {"child.age", KV_INT}, {"family.*.age", KV_INT},
        {"family.*.lives_with_child", KV_BOOL}, {"concerns", KV_LIST},
        {"form.*", KV_AUTO}, {NULL, KV_TEXT}};
    char *text = malloc(size + 1);
    char *argv[64];
    int argc = 0;
    memcpy(text, data, size);
    text[size] = '\0';
    for (char *p = strtok(text, "\n"); p && argc < 64; p = strtok(NULL, "\n"))
        argv[argc++] = p;
    char err[200];
    json_t *j = kv_to_json(argc, argv, fields, err, sizeof err);
    json_decref(j);
    free(text);
    return 0;
}
