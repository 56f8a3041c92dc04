/**
 * The manifest files that file and directory arguments name (`kubeseal --re-encrypt a.yaml dir/`,
 * `kubeseal keys --recovery-private-key k.yaml dir/`): a file as given, a directory walked for
 * *.yaml, *.yml and *.json. Hidden entries (.git, our own temporary files) are skipped and
 * symbolic links are not followed, so a walk always ends; only regular files are taken from a
 * directory (a FIFO would block the read forever, a link would be replaced by the rewrite).
 */
import { UserError } from '../shared/errors.ts';
import type { DirectoryEntry, Io } from './io.ts';

const MANIFEST = /\.(ya?ml|json)$/i;
/** More files than any repository of SealedSecrets holds; a walk past it is a mistake (a home directory). */
export const MAX_MANIFEST_FILES = 100_000;

export interface ManifestFile {
  readonly path: string;
  /** Named by the user (a missing SealedSecret is then an error), not found in a directory. */
  readonly explicit: boolean;
}

/** The files of `paths`, in the order given, each directory's files sorted by path; no duplicates. */
export function manifestFiles(paths: readonly string[], io: Pick<Io, 'readDirectory' | 'warn'>, what: string): ManifestFile[] {
  const files: ManifestFile[] = [];
  const seen = new Set<string>();
  const add = (file: ManifestFile): void => {
    if (seen.has(file.path)) return;
    seen.add(file.path);
    if (files.length >= MAX_MANIFEST_FILES) throw new UserError(`${what} name more than ${MAX_MANIFEST_FILES} manifest files; name fewer directories`);
    files.push(file);
  };
  const walk = (dir: string, entries: readonly DirectoryEntry[]): void => {
    for (const entry of [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
      if (entry.name.startsWith('.')) continue;
      const path = `${dir.replace(/\/+$/, '')}/${entry.name}`;
      if (entry.directory) walk(path, io.readDirectory(path, what) ?? []);
      else if (!MANIFEST.test(entry.name)) continue;
      else if (entry.file) add({ path, explicit: false });
      else io.warn(`warning: skipped ${path}: not a regular file (a symbolic link, FIFO or device); name it, or its target, explicitly`);
    }
  };
  for (const path of paths) {
    const entries = io.readDirectory(path, what);
    if (entries === undefined) add({ path, explicit: true });
    else walk(path, entries);
  }
  return files;
}
