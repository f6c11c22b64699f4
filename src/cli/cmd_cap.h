/* cli — `javm cap`: page-store utilities (DataCap roots, page content hashes). */
#ifndef JV_CLI_CMD_CAP_H
#define JV_CLI_CMD_CAP_H

/* argv[0] = "cap". Returns the exit status: 0 ok, 1 runtime error, 2 usage error. */
int jv_cli_cap(int argc, char **argv);

#endif
