/* SPDX-License-Identifier: MIT */
/*
 * mcp_stdio.h: `sandpool mcp`, the MCP server on stdin/stdout.
 */
#ifndef SANDPOOL_MCP_STDIO_H
#define SANDPOOL_MCP_STDIO_H

/*
 * Serve newline-delimited JSON-RPC on stdin/stdout until stdin ends (or
 * SIGTERM/SIGINT): with an embedded pool in this process by default, or
 * forwarding every message to a remote sandpool's /mcp with --url (or
 * SANDPOOL_URL).  Nothing but MCP messages is ever written to stdout; fd 1
 * is pointed at stderr so that no stray write can corrupt the stream.
 * Returns the exit status.
 */
int mcp_stdio_main(int argc, char **argv);

#endif
