// SPDX-License-Identifier: MIT
// The official TypeScript SDK as a client of sandpool, over Streamable HTTP
// or stdio: connect (initialize + initialized), list the tools and prompts,
// run execute_python with a matplotlib plot and check that an image comes
// back, check that state persists, then close.  Exits non-zero on any
// failure.  Usage:
//   node sdk_client.mjs http URL
//   node sdk_client.mjs stdio COMMAND [ARG...]
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";

function check(cond, what) {
  if (!cond) {
    console.error(`FAIL: ${what}`);
    process.exit(1);
  }
  console.log(`ok - ${what}`);
}

const [mode, target, ...rest] = process.argv.slice(2);
let transport;
if (mode === "http") {
  transport = new StreamableHTTPClientTransport(new URL(target));
} else if (mode === "stdio") {
  transport = new StdioClientTransport({
    command: target,
    args: rest,
    stderr: "inherit",
  });
} else {
  console.error("usage: sdk_client.mjs http URL | stdio COMMAND [ARG...]");
  process.exit(2);
}

const client = new Client({ name: "sandpool-sdk-test", version: "1.0.0" });
await client.connect(transport);
const info = client.getServerVersion();
check(info && info.name === "sandpool", `${mode}: connected to ${info?.name}`);

const { tools } = await client.listTools();
const names = tools.map((t) => t.name);
check(names.includes("execute_python"), `${mode}: tools/list has execute_python`);

const { prompts } = await client.listPrompts();
check(prompts.some((p) => p.name === "code_interpreter"), `${mode}: prompts/list has code_interpreter`);

const plot = await client.callTool({
  name: "execute_python",
  arguments: {
    code:
      "import matplotlib\nmatplotlib.use('Agg')\nimport matplotlib.pyplot as plt\n" +
      "plt.plot([1, 4, 9])\nplt.title('sdk')\nanswer = 42\nprint('plotted')",
  },
});
check(!plot.isError, `${mode}: execute_python succeeded`);
const images = plot.content.filter((c) => c.type === "image");
check(images.length === 1 && images[0].mimeType === "image/png", `${mode}: one PNG image came back`);
const png = Buffer.from(images[0].data, "base64");
check(png.subarray(1, 4).toString() === "PNG", `${mode}: the image is a PNG`);
check(plot.structuredContent?.stdout === "plotted\n", `${mode}: structuredContent.stdout`);

const again = await client.callTool({ name: "execute_python", arguments: { code: "answer" } });
check(again.structuredContent?.result === "42", `${mode}: state persists between calls`);

const bad = await client.callTool({ name: "execute_python", arguments: { code: "1/0" } });
check(bad.isError === true && bad.structuredContent?.error?.code === "PythonError", `${mode}: errors are isError results`);

await client.close();
console.log(`${mode}: all checks passed`);
process.exit(0);
