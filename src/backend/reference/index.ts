// The reference backend as the package hands it out: the plain TypeScript kernels of
// ./kernels.ts behind the boundary's validation (validate.ts). This exported object is the
// validated one, so a user calling `referenceBackend.matmul(...)` directly gets the same argument
// checks as every backend that `getBackend()` returns.

import { validated } from "../validate.js";
import { referenceKernels } from "./kernels.js";

export const referenceBackend = validated(referenceKernels);
