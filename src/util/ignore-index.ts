// The label value that the loss, accuracy and token counts skip: -100, as in PyTorch's
// `cross_entropy(ignore_index=-100)` and the reference's data pipelines. Everything that masks a
// target (unscored copy-task halves, image padding, already-scored image chunks) writes this value.

/** A label equal to this is not scored. */
export const IGNORE_INDEX = -100;
