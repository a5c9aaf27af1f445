// Verification (not a test: it needs PyTorch): a model exported with saveModel(..., {format: "hf"})
// is checked by bench/check_hf_export.py against the reference's from_pretrained rules (config
// layout, safetensors format, strict load of backend_model.* names) and its logits in PyTorch.
//
//   npx tsc -p . && node dist/bench/verify-hf-export.js [--python /usr/bin/python3]

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { referenceBackend } from "../src/backend/reference/index.js";
import { saveModel } from "../src/io/checkpoint.js";
import { PerceiverAR } from "../src/models/perceiver-ar.js";

const argv = process.argv.slice(2);
const python = argv.includes("--python") ? argv[argv.indexOf("--python") + 1]! : "/usr/bin/python3";
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hf-export-"));
const model = new PerceiverAR(
  { vocab_size: 50, max_seq_len: 24, max_latents: 8, num_channels: 32, num_heads: 4, num_self_attention_layers: 2, cross_attention_dropout: 0 },
  referenceBackend,
  { seed: 11 },
);
const ids = [Array.from({ length: 20 }, (_, i) => (i * 7 + 3) % 50), Array.from({ length: 20 }, (_, i) => (i * 11 + 1) % 50)];
const prefixLen = 12;
const logits = model.forward(ids, { prefixLen });
saveModel(model, path.join(dir, "hf"), { format: "hf" });
fs.writeFileSync(path.join(dir, "expected.json"), JSON.stringify({ ids, prefix_len: prefixLen, logits: Array.from(logits.data) }));
const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "../../bench/check_hf_export.py");
const r = spawnSync(python, [script, path.join(dir, "hf"), path.join(dir, "expected.json")], { encoding: "utf8" });
process.stdout.write(r.stdout);
process.stderr.write(r.stderr);
fs.rmSync(dir, { recursive: true, force: true });
process.exit(r.status ?? 1);
