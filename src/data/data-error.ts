// DataError: a data source the user named cannot be used as it is (missing or unreadable file,
// a malformed .jsonl line, a corpus too small for one window, a tokenizer that does not fit the
// model). The message names the file or setting and what would work; the CLI prints it as one
// line with exit code 2.

export class DataError extends Error {
  override name = "DataError";
}
