// Builds the browser side with esbuild (part of `npm run build`; the output is never committed):
//   dist/browser/perceiver-ar.js  the package's browser entry (src/index.browser.ts) as one ES module,
//                                 with the wasm backend's .wasm modules copied beside it
//   dist/web/                     the page: index.html, style.css, app.js (main thread), worker.js
// The worker imports the library from /perceiver-ar.js (the bundle above, left external), so the
// page runs exactly what a user of the package's browser bundle gets.

import * as esbuild from "esbuild";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const out = (...p) => path.join(root, "dist", ...p);
const common = { bundle: true, format: "esm", platform: "browser", target: "es2022", sourcemap: true, logLevel: "warning", absWorkingDir: root };

/** The worker's imports of the library entry become imports of the served bundle. */
const libraryExternal = {
  name: "library-external",
  setup(build) {
    build.onResolve({ filter: /index\.browser\.js$/ }, () => ({ path: "./perceiver-ar.js", external: true }));
  },
};

const results = await Promise.all([
  esbuild.build({ ...common, entryPoints: ["src/index.browser.ts"], outfile: out("browser", "perceiver-ar.js") }),
  esbuild.build({ ...common, entryPoints: ["src/web/worker/worker.ts"], outfile: out("web", "worker.js"), plugins: [libraryExternal] }),
  esbuild.build({ ...common, entryPoints: ["src/web/app.ts"], outfile: out("web", "app.js") }),
]);
for (const f of ["index.html", "style.css"]) fs.copyFileSync(path.join(root, "src", "web", f), out("web", f));
// The wasm backend's modules (scripts/build-wasm.mjs) next to the bundle, where it fetches them
// (src/backend/wasm/web.ts: relative to its module's URL); absent when clang could not build them.
const wasmDir = out("src", "backend", "wasm");
for (const f of fs.existsSync(wasmDir) ? fs.readdirSync(wasmDir).filter((n) => n.endsWith(".wasm")) : []) fs.copyFileSync(path.join(wasmDir, f), out("browser", f));
const warnings = results.reduce((n, r) => n + r.warnings.length, 0);
if (warnings > 0) {
  console.error(`build-web: ${warnings} esbuild warning(s)`);
  process.exit(1);
}
