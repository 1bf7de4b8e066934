/*
 * clirun.h - the `haven` commands run in process: by main.c on the
 * terminal, and by havend for an authenticated remote user (a request's
 * argv, its files carried in the request and its output captured).
 *
 * Everything a command prints goes to the cli_io of the cli_run it runs
 * under (a thread-local current one; stdout/stderr outside any).  In
 * remote mode a command never opens a path the user gave: the files it
 * reads come from io->inputs and the files it writes go into io->outputs,
 * both objects keyed by the path as the user typed it ("case.json", "-"
 * for standard input); commands that need the server's file system or a
 * terminal are refused (cli_remote_allowed).
 */
#ifndef HV_CLIRUN_H
#define HV_CLIRUN_H

#include <stdio.h>

#include <jansson.h>

#include "cli.h"

typedef struct {
    FILE *out, *err;  /* where the command prints (stdout/stderr when not set) */
    int remote;       /* 1: a server request */
    json_t *inputs;   /* remote: object PATH -> content; every file read comes from here */
    json_t *outputs;  /* remote: object PATH -> content; filled by files the command writes */
    int has_clock;    /* remote: the server's clock is set (an administrator's, on a */
    hv_time clock;    /* simulated database: POST /v1/clock); the user's --now never is */
} cli_io;

/* Runs one command (argv[0] = its name) with g's globals, printing on io.
 * Returns the exit code.  Thread-safe: no process-global mutable state; io
 * is per call (thread-local inside).  In remote mode g->has_now is refused
 * (64), stdin is never read (only inputs["-"]) and a command
 * cli_remote_allowed refuses prints `haven: COMMAND: not available over
 * --server (run it where the database is)` and returns 64.  io->outputs
 * must be a JSON object in remote mode (cli_run fills it). */
int cli_run(const cli_globals *g, cli_io *io, int argc, char **argv);

/* 1 if the command named may run over --server (subcommand: its first
 * argument, or NULL).  Some allowed commands still refuse an argument that
 * names a directory on the server (rules diff DIR, rules reload DIR). */
int cli_remote_allowed(const char *command, const char *subcommand);

/* 1 if name is one of the table's commands. */
int cli_is_command(const char *name);

#endif
