/* SPDX-License-Identifier: MIT */
/*
 * sandbox_template.h: `sandpool-sandbox --template`, which starts a zygote
 * template as an unprivileged uid (sandbox_template.c).
 */
#ifndef SANDPOOL_SANDBOX_TEMPLATE_H
#define SANDPOOL_SANDBOX_TEMPLATE_H

/*
 * argv[1] is "--template".  Drop to --uid and exec PROGRAM; returns only
 * on failure, with the launcher's exit status for bad usage (2) after a
 * one-line message on stderr.
 */
int sandbox_template_main(int argc, char **argv);

#endif
