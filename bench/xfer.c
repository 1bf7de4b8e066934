/* xfer.c - haven-xfer: the raw cost of moving bytes over a Unix stream
 * socket, the channel a laptop's `haven sync` uses with havend's socket in
 * bench/sync.sh.  Prints the seconds it took to send BYTES from one process
 * to another and back (a request and its answer of the given sizes), so
 * the sync figures stand beside the transfer of the same bytes alone.
 *
 *   haven-xfer UP_BYTES DOWN_BYTES
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sends n bytes on fd; 0 or -1. */
static int send_n(int fd, size_t n)
{
    static char buf[1 << 16];
    while (n > 0) {
        size_t k = n < sizeof buf ? n : sizeof buf;
        ssize_t w = write(fd, buf, k);
        if (w <= 0)
            return -1;
        n -= (size_t)w;
    }
    return 0;
}

/* Reads n bytes from fd; 0 or -1. */
static int recv_n(int fd, size_t n)
{
    static char buf[1 << 16];
    while (n > 0) {
        size_t k = n < sizeof buf ? n : sizeof buf;
        ssize_t r = read(fd, buf, k);
        if (r <= 0)
            return -1;
        n -= (size_t)r;
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: haven-xfer UP_BYTES DOWN_BYTES\n");
        return 64;
    }
    size_t up = strtoull(argv[1], NULL, 10), down = strtoull(argv[2], NULL, 10);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) {
        perror("haven-xfer: socketpair");
        return 71;
    }
    double t0 = now_s();
    pid_t pid = fork();
    if (pid < 0) {
        perror("haven-xfer: fork");
        return 71;
    }
    if (pid == 0) { /* the server: reads the request, sends the answer */
        close(sv[0]);
        _exit(recv_n(sv[1], up) || send_n(sv[1], down) ? 1 : 0);
    }
    close(sv[1]);
    int bad = send_n(sv[0], up) || recv_n(sv[0], down);
    int status = 0;
    waitpid(pid, &status, 0);
    double t = now_s() - t0;
    if (bad || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "haven-xfer: the transfer failed\n");
        return 71;
    }
    printf("%.6f\n", t);
    return 0;
}
