/* vsockfw subcommands implemented outside main.c. */
#ifndef VSOCKFW_CMDS_H
#define VSOCKFW_CMDS_H

int cmd_rules(int argc, char **argv);
int cmd_killswitch(int argc, char **argv);
int cmd_run(int argc, char **argv);

#endif
