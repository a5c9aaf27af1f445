// Small DOM helpers of the page: elements by id, status and error lines, file drops, downloads.

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const e = document.getElementById(id);
  if (e === null) throw new Error(`page element #${id} is missing`);
  return e as T;
}

/** Shows `message` in element `id` as an error. */
export function showError(id: string, err: unknown): void {
  const e = byId(id);
  e.textContent = err instanceof Error ? err.message : String(err);
  e.classList.add("error");
}

export function showText(id: string, text: string): void {
  const e = byId(id);
  e.textContent = text;
  e.classList.remove("error");
}

/** Calls `onFiles` with the files dropped on element `id`. */
export function onDrop(id: string, onFiles: (files: File[]) => void): void {
  const e = byId(id);
  e.addEventListener("dragover", (ev) => {
    ev.preventDefault();
    e.classList.add("over");
  });
  e.addEventListener("dragleave", () => e.classList.remove("over"));
  e.addEventListener("drop", (ev) => {
    ev.preventDefault();
    e.classList.remove("over");
    onFiles(Array.from(ev.dataTransfer?.files ?? []));
  });
}

/** Saves a Blob as a download named `name`. */
export function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** An integer with thousands separators. Not toLocaleString: its first call loads locale data (~100 ms) in the middle of a run. */
export function formatCount(n: number): string {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}
