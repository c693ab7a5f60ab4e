/* make_fixture DIR: the report tests' run directories DIR/a, DIR/b and
 * DIR/hostile (fixture.h), for the shell tests. */
#include <stdio.h>

#include "fixture.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: make_fixture DIR\n");
        return 2;
    }
    char p[4096];
    snprintf(p, sizeof p, "%s/a", argv[1]);
    report_fixture_write(p, REPORT_FIXTURE_A);
    snprintf(p, sizeof p, "%s/b", argv[1]);
    report_fixture_write(p, REPORT_FIXTURE_B);
    snprintf(p, sizeof p, "%s/hostile", argv[1]);
    report_fixture_write(p, REPORT_FIXTURE_HOSTILE);
    return 0;
}
