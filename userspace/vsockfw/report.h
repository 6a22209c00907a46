/* The stats report of a running vsockfw (docs/vsockfw.md "Control
 * socket"), in report.c. */
#ifndef VSOCKFW_REPORT_H
#define VSOCKFW_REPORT_H

#include "vsockfw/fw.h"
#include "vsockfw/stats.h"

/* JSON, or text for people. */
void fw_report(struct fw *fw, struct strbuf *sb, int json);

#endif
