#include <stdio.h>
#include "commands.h"
/* placeholder until the transforms area lands */
int kb_cmd_encrypt(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "keybench: 'encrypt' is not built yet\n");
    return 1;
}
int kb_cmd_decrypt(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "keybench: 'decrypt' is not built yet\n");
    return 1;
}
