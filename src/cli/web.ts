// `perceiver-ar web`: serves the page (train, generate, music, images in the browser) on
// 127.0.0.1 with cross-origin isolation (src/web/server.ts) and prints its URL.

import type { Command } from "commander";
import { integerFlag } from "./flags.js";
import { checkBuilt, PACKAGE_ROOT, startWebServer } from "../web/server.js";
import * as path from "node:path";

export function registerWebCommand(program: Command): void {
  program
    .command("web")
    .description("serve the browser page (train, generate, music, images) on 127.0.0.1 and print its URL")
    .option("--port <n>", "port on 127.0.0.1 (0 = any free port)", "8080")
    .action(async (o: { port: string }) => {
      const port = integerFlag("--port", o.port, 0, 65535);
      checkBuilt([path.join(PACKAGE_ROOT, "dist", "web"), path.join(PACKAGE_ROOT, "dist", "browser")]);
      const server = await startWebServer({ port });
      console.log(`perceiver-ar web: ${server.url}  (Ctrl-C to stop)`);
      const stop = () => void server.close().then(() => process.exit(0));
      process.once("SIGINT", stop);
      process.once("SIGTERM", stop);
    });
}
