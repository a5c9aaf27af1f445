// What a user may name a model by: a local folder, a hub id ("org/name", optionally "@revision"),
// or a hub URL ("https://huggingface.co/org/name", ".../tree/<revision>"). Platform-neutral.
//
// Contract: `parseModelRef` returns a hub reference {repo, revision, endpoint?} for ids and URLs
// and refuses malformed ones (HubError naming the rule); deciding that a string is a local folder
// is the caller's (it must exist on disk: a folder always wins over an id of the same spelling).

export class HubError extends Error {
  override name = "HubError";
}

export interface HubRef {
  /** "org/name" (or "name" for the hub's few legacy un-namespaced repos). */
  repo: string;
  /** Branch, tag or commit; default "main". */
  revision: string;
  /** The hub's origin when the reference was a URL (else the configured endpoint is used). */
  endpoint?: string;
}

/** The hub's rules for repo names: letters, digits, `-`, `_`, `.`; no `--` or `..`; at most 96 characters. */
const NAME_PART = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9])?$/;
const MAX_REVISION_LENGTH = 256;

export function isValidRepoId(repo: string): boolean {
  const parts = repo.split("/");
  if (parts.length < 1 || parts.length > 2) return false;
  return parts.every((p) => NAME_PART.test(p) && !p.includes("--") && !p.includes(".."));
}

function checkRevision(rev: string): string {
  if (rev.length === 0 || rev.length > MAX_REVISION_LENGTH || rev.includes("..") || rev.startsWith("/") || !/^[A-Za-z0-9._/-]+$/.test(rev)) {
    throw new HubError(`revision ${JSON.stringify(rev)} is not a valid branch, tag or commit name`);
  }
  return rev;
}

/** Parses a hub id or URL. */
export function parseModelRef(ref: string, defaultRevision = "main"): HubRef {
  if (/^https?:\/\//i.test(ref)) {
    let url: URL;
    try {
      url = new URL(ref);
    } catch {
      throw new HubError(`${JSON.stringify(ref)} is not a valid URL`);
    }
    const parts = url.pathname.split("/").filter((p) => p.length > 0).map(decodeURIComponent);
    if (parts[0] === "models") parts.shift();
    if (parts.length < 2) throw new HubError(`${ref}: a model URL looks like ${url.origin}/<org>/<name>`);
    const repo = `${parts[0]}/${parts[1]}`;
    if (!isValidRepoId(repo)) throw new HubError(`${ref}: ${JSON.stringify(repo)} is not a valid repo id`);
    let revision = defaultRevision;
    if ((parts[2] === "tree" || parts[2] === "resolve" || parts[2] === "blob") && parts[3] !== undefined) revision = parts[3];
    return { repo, revision: checkRevision(revision), endpoint: url.origin };
  }
  const at = ref.lastIndexOf("@");
  const repo = at > 0 ? ref.slice(0, at) : ref;
  const revision = at > 0 ? ref.slice(at + 1) : defaultRevision;
  if (!isValidRepoId(repo)) {
    throw new HubError(`${JSON.stringify(ref)} is neither a model folder nor a hub id (org/name, letters, digits, "-", "_", ".", at most 96 characters)`);
  }
  return { repo, revision: checkRevision(revision) };
}
