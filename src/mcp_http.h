/* SPDX-License-Identifier: MIT */
/*
 * mcp_http.h: MCP Streamable HTTP at /mcp (see mcp_http.c).
 */
#ifndef SANDPOOL_MCP_HTTP_H
#define SANDPOOL_MCP_HTTP_H

#include "api.h"

/*
 * Answer a POST or DELETE on /mcp for the authenticated caller in c (now,
 * or later after suspending the request).  MHD thread; never blocks on an
 * execution.
 */
void mcp_http_handle(struct api_ctx *c);

#endif
