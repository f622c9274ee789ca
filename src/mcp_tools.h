/* SPDX-License-Identifier: MIT */
/*
 * mcp_tools.h: the MCP tool table (execute_python, run_shell, list_files,
 * read_file, upload_file and the Azure Container Apps set launchShell,
 * runPythonCodeInRemoteEnvironment, runShellCommandInRemoteEnvironment),
 * the code_interpreter prompt, and `sandpool tools`, which prints the same
 * definitions for OpenAI and Anthropic function calling.
 */
#ifndef SANDPOOL_MCP_TOOLS_H
#define SANDPOOL_MCP_TOOLS_H

#include <jansson.h>
#include <stdbool.h>

#include "mcp.h"

struct mcp_tool {
	const char *name;
	const char *title;
	const char *description;   /* what an LLM reads to decide */
	const char *input_schema;  /* JSON text (2020-12 dialect) */
	const char *output_schema; /* JSON text; every key optional */
	bool read_only;		   /* annotations (hints only) */
	bool destructive;
	bool idempotent;
	bool open_world;
	bool function_calling; /* printed by `sandpool tools` */
	/* Start the call; it ends with mcp_call_finish(), now or later. */
	void (*call)(struct mcp_call *c);
};

/* The tool called name, or NULL. */
const struct mcp_tool *mcp_tool_find(const char *name);

/* The tools/list "tools" array in MCP shape (new reference).  Aborts on a
 * malformed built-in schema, which is a bug caught by every test run. */
json_t *mcp_tools_list(void);

/* prompts/list "prompts" array (new reference). */
json_t *mcp_prompts_list(void);
/* prompts/get result for name (new reference), or NULL if unknown. */
json_t *mcp_prompt_get(const char *name);

/* `sandpool tools --format openai-chat|openai-responses|anthropic|mcp`. */
int mcp_tools_main(int argc, char **argv);

#endif
