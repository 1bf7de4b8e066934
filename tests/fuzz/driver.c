/* driver.c - runs a fuzz harness over the files of its corpus (the inputs
 * libFuzzer found so far) as a regression test in `make check`, without
 * libFuzzer: `fuzz_X_regress FILE...` or a folder. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    unsigned char *buf = malloc(4 * 1024 * 1024);
    size_t n = fread(buf, 1, 4 * 1024 * 1024, f);
    fclose(f);
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
            continue;
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
            count += run_file(path);
        }
        if (d)
            closedir(d);
    }
    printf("%d passed, 0 failed\n", count);
    return count > 0 ? 0 : 1;
}
