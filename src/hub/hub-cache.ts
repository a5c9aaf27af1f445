// HubCache: where downloaded hub files are kept, behind an interface so that the download logic
// (download.ts, model-download.ts) is the same in Node and the browser. Node: DiskHubCache
// (disk-cache.ts), the huggingface_hub layout, shared with Python's cache. Browser:
// BrowserHubCache (browser-cache.ts) over the Cache API (blobs keyed by ETag, snapshot entries
// pointing at them). Both verify a finished blob with `verifyBlob` before storing it.
//
// Layout terms (huggingface_hub's): a `ref` maps a revision (branch/tag) to a commit hash; a
// `blob` is a file's bytes named by its ETag (the sha256 of an LFS file, the git blob sha1 of a
// small one); a `snapshot` maps (commit, file name) to a blob.

import { HubError } from "./model-ref.js";

/** What the hub said about a file, checked when its bytes are complete. */
export interface ExpectedFile {
  /** Total bytes (X-Linked-Size or Content-Length), when given. */
  size: number | null;
  /** sha256 of the bytes (LFS files: X-Linked-Etag), when given. */
  sha256: string | null;
  /** git blob sha1 of the bytes (small files: ETag), when given. */
  gitSha1: string | null;
}

/** A blob being written; resumable across processes (partial bytes are kept until `commit`). */
export interface BlobWriter {
  /** Bytes already present from an interrupted download (resume from here with an HTTP Range). */
  readonly existing: number;
  /** Drops the partial bytes (the server ignored the Range and sends everything again). */
  restart(): Promise<void>;
  append(chunk: Uint8Array): Promise<void>;
  /** Verifies size and hash against `expected` and stores the blob; on a mismatch the partial bytes are deleted and a HubError names the file. */
  commit(): Promise<void>;
  /** Keeps the partial bytes for a later resume and releases the writer. */
  suspend(): Promise<void>;
}

export interface HubCache {
  readRef(repo: string, revision: string): Promise<string | null>;
  writeRef(repo: string, revision: string, commit: string): Promise<void>;
  /** A snapshot file's local location (Node: its path), or null when it is not cached. */
  snapshotFile(repo: string, commit: string, file: string): Promise<string | null>;
  /** Whether the hub said this optional file does not exist at this commit. */
  isKnownMissing(repo: string, commit: string, file: string): Promise<boolean>;
  markMissing(repo: string, commit: string, file: string): Promise<void>;
  hasBlob(repo: string, etag: string): Promise<boolean>;
  openBlob(repo: string, etag: string, expected: ExpectedFile, label: string): Promise<BlobWriter>;
  /** Points snapshot (commit, file) at blob `etag`; returns the file's local location. */
  linkSnapshot(repo: string, commit: string, file: string, etag: string): Promise<string>;
  /** The bytes of a file at a location that `snapshotFile` or `linkSnapshot` returned. */
  read(location: string): Promise<Uint8Array>;
  /** The local folder of a snapshot (Node: a directory the loader reads). */
  snapshotDir(repo: string, commit: string): string;
}

/** What a finished download turned out to be; the hashes are computed only when `expected` has them. */
export interface ReceivedBlob {
  size: number;
  sha256(): Promise<string>;
  /** The git blob id: sha1 of "blob <size>\0" and the bytes. */
  gitSha1(): Promise<string>;
}

/**
 * Checks a finished download against what the hub said (size, then sha256 or the git blob sha1)
 * and throws a HubError naming `label` and every mismatch ("download is corrupt (...)"); the
 * caller deletes the partial bytes first, as the message says.
 */
export async function verifyBlob(label: string, expected: ExpectedFile, received: ReceivedBlob, discard: () => Promise<void>): Promise<void> {
  const problems: string[] = [];
  if (expected.size !== null && received.size !== expected.size) problems.push(`${received.size} bytes received, the hub says ${expected.size}`);
  if (expected.sha256 !== null) {
    const digest = await received.sha256();
    if (digest !== expected.sha256) problems.push(`sha256 ${digest}, the hub says ${expected.sha256}`);
  }
  if (expected.gitSha1 !== null && problems.length === 0) {
    const sha1 = await received.gitSha1();
    if (sha1 !== expected.gitSha1) problems.push(`git blob sha1 ${sha1}, the hub says ${expected.gitSha1}`);
  }
  if (problems.length === 0) return;
  await discard();
  throw new HubError(`${label}: download is corrupt (${problems.join("; ")}); deleted, try again`);
}
