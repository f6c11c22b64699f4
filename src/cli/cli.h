/* cli — the javm tool. main.c dispatches `javm <command> ...` to one function per command,
 * each in its own cmd_<name>.c. Conventions for every command:
 *   - argv[0] is the command name; return the process exit status:
 *     0 success, 1 the run/test found a failure or a runtime error, 2 usage error (unknown
 *     option, missing file, bad number), always with ONE line on stderr "javm <cmd>: ...".
 *   - `--help` prints the command's usage on stdout and returns 0.
 */
#ifndef JV_CLI_H
#define JV_CLI_H

int jv_cli_run(int argc, char **argv);    /* cmd_run.c    */
int jv_cli_test(int argc, char **argv);   /* cmd_test.c   */
int jv_cli_disasm(int argc, char **argv); /* cmd_disasm.c */
int jv_cli_gas(int argc, char **argv);    /* cmd_gas.c */
int jv_cli_asm(int argc, char **argv);    /* cmd_asm.c    */
int jv_cli_cap(int argc, char **argv);    /* cmd_cap.c    */
int jv_cli_image(int argc, char **argv);  /* cmd_image.c  */

#endif
