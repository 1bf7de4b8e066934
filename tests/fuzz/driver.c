/* driver.c - runs a fuzz harness over the files of its corpus (the inputs
 * libFuzzer found so far) as a regression test in `make check`, without
 * libFuzzer: `fuzz_X_regress FILE|FOLDER...` (the corpus folder, and the
 * project's own rule and workflow files as seeds).  A path that cannot be
 * read fails the run, so a misnamed seed is not silently skipped. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

#define HV_FUZZ_MAX_INPUT (4 * 1024 * 1024)

static void die(const char *path, const char *why)
{
    fprintf(stderr, "fuzz driver: %s: %s\n", path, why);
    exit(1);
}

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        die(path, "cannot open");
    unsigned char *buf = malloc(HV_FUZZ_MAX_INPUT);
    if (!buf)
        die(path, "out of memory");
    size_t n = fread(buf, 1, HV_FUZZ_MAX_INPUT, f);
    int bad = ferror(f);
    fclose(f);
    if (bad)
        die(path, "cannot read");
    LLVMFuzzerTestOneInput(buf, n);
    free(buf);
    return 1;
}

int main(int argc, char **argv)
{
    int count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat sb;
        if (stat(argv[i], &sb) != 0)
            die(argv[i], "no such file or folder");
        if (!S_ISDIR(sb.st_mode)) {
            count += run_file(argv[i]);
            continue;
        }
        DIR *d = opendir(argv[i]);
        struct dirent *ent;
        char path[8192];
        while (d && (ent = readdir(d)) != NULL) {
            if (ent->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", argv[i], ent->d_name);
            if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
                count += run_file(path);
        }
        if (d)
            closedir(d);
    }
    printf("%d passed, 0 failed\n", count);
    return count > 0 ? 0 : 1;
}
