// How much memory a model's buffer pool may keep in Node: the training loop and the CLI's models
// (eval, sample, --init-from) use the same policy, so a model behaves the same wherever it runs.

import { totalmem } from "node:os";
import type { PerceiverAR } from "../models/perceiver-ar.js";

/**
 * Let the model's buffer pool hold up to half of the machine's memory (Node only; the default cap
 * suits a browser tab). A step's intermediates are recycled through the pool; when they do not all
 * fit its cap, fresh arrays page-fault at ~10 ms/MB here (copy preset, context 131,072, batch 8:
 * forward + backward 20.9 s with the 4 GB default, 5.0 s with the whole step pooled, measured by
 * `node dist/bench/step-profile.js --contexts 131072 --pool-gb 4|12`). Pooled buffers are ones a
 * pass itself allocated, so this does not raise the peak of a pass of one shape.
 */
export function poolUpToHalfOfMemory(model: PerceiverAR): void {
  model.pool.maxBytes = Math.max(model.pool.maxBytes, totalmem() / 2);
}
