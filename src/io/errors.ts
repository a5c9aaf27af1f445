// CheckpointError: every problem with a model folder or weight file (missing files, malformed or
// ambiguous contents, weights that do not match the config) that is the input's fault. Messages
// name the file and, where one is at fault, the tensor or field.

export class CheckpointError extends Error {
  override name = "CheckpointError";
}
