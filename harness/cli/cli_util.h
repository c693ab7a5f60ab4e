/* Small helpers shared by the keybench subcommands. */
#ifndef KB_CLI_UTIL_H
#define KB_CLI_UTIL_H

/* "--name VALUE" or "--name=VALUE": the value, with *i advanced past a
 * separate one; "" when the value is missing; NULL when argv[*i] is another
 * option. */
const char *kb_cli_opt_value(int argc, char **argv, int *i, const char *name);

#endif
