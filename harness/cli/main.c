/* keybench — command-line entry point: dispatches to cmd_<name>.c. */
#include <stdio.h>
#include <string.h>

#include <keybench/common.h>
#include "commands.h"

struct command {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
};

static const struct command commands[] = {
    { "run", kb_cmd_run, "run a spec: pretrain, protect, evaluate every cell (resumable)" },
    { "report", kb_cmd_report, "derive results.csv and summary.csv from run journals" },
    { "plan", kb_cmd_plan, "print the expanded experiment matrix of a spec" },
    { "plugins", kb_cmd_plugins, "list the plugins found, with their parameters" },
    { "keygen", kb_cmd_keygen, "write a new 32-byte master secret (mode 0600)" },
    { "encrypt", kb_cmd_encrypt, "apply a transform with a key to PNG images" },
    { "decrypt", kb_cmd_decrypt, "invert a transform with a key" },
    { "samples", kb_cmd_samples, "write a PNG grid of images under each transform" },
    { "forward", kb_cmd_forward, "run a backbone on a safetensors input (PyTorch parity checks)" },
    { "bench", kb_cmd_bench, "training and inference throughput of a backbone" },
    { "new-attack", kb_cmd_new_attack, "scaffold an out-of-tree attack plugin" },
};

static void usage(FILE *f)
{
    fprintf(f, "usage: keybench COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'keybench COMMAND --help' describes one command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("keybench %s\n", kb_version());
        return 0;
    }
    const char *names[sizeof commands / sizeof commands[0]];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        names[i] = commands[i].name;
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].fn(argc - 1, argv + 1);
    }
    char hint[256];
    if (kb_suggest(hint, sizeof hint, argv[1], names, sizeof names / sizeof names[0]) > 0)
        fprintf(stderr, "keybench: unknown command '%s'; did you mean %s?\n", argv[1], hint);
    else
        fprintf(stderr, "keybench: unknown command '%s'; run 'keybench --help'\n", argv[1]);
    return 2;
}
