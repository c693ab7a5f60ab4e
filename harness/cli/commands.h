/* The keybench subcommands: one file per command, cmd_<name>.c. */
#ifndef KB_CLI_COMMANDS_H
#define KB_CLI_COMMANDS_H

/* argv[0] is the command name. Return the process exit status. */
int kb_cmd_keygen(int argc, char **argv);
int kb_cmd_plugins(int argc, char **argv);
int kb_cmd_plan(int argc, char **argv);
int kb_cmd_encrypt(int argc, char **argv);
int kb_cmd_decrypt(int argc, char **argv);
int kb_cmd_samples(int argc, char **argv);
int kb_cmd_forward(int argc, char **argv);
int kb_cmd_bench(int argc, char **argv);
int kb_cmd_run(int argc, char **argv);
int kb_cmd_report(int argc, char **argv);
int kb_cmd_new_attack(int argc, char **argv);

#endif
