#include <stdio.h>
#include "commands.h"
/* placeholder until this command's area lands */
int kb_cmd_forward(int argc, char **argv)
{
    (void)argc; (void)argv;
    fprintf(stderr, "keybench: 'forward' is not built yet\n");
    return 1;
}
