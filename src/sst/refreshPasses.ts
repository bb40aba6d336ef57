/**
 * The second phase of a two-phase copy as rsync passes (issue #22): for each pass phase 1 ran (re-planned under
 * the lock, so new databases have theirs), a pass that only deletes, scoped exactly like the phase-1 pass, when a
 * name may have gone (changeSelect.ts), and a pass that sends only the selected entries. Pure; the donor runs them.
 *
 * - Deleting: the phase-1 pass's own flags, filters and operands plus `--existing --ignore-existing`, which send
 *   nothing, create nothing and update nothing: only --delete acts, on exactly the names phase 1's --delete
 *   would have judged (its filters protect the joiner's own files, grastate.dat among them, as before).
 *   It runs before the sending pass, so a name that changed kind (a file that became a directory) is cleared.
 * - Sending: the phase-1 flags (`--ignore-times`: every listed file is sent or, for deltas, checked against the
 *   whole-file checksum; rsync's size+mtime quick check never decides) with the selected names as operands, or for
 *   a database directory as a `--files-from` list (NUL-separated, relative to it), which creates missing parent
 *   directories and applies the attributes of the directories listed.
 */
import { local, type Pass, type PassScope } from './passes.js';
import type { Selection } from './changeSelect.js';

/** A phase-2 pass, with the `--files-from` list it needs written first (when it needs one). */
export interface RefreshPass extends Pass {
  /** NUL-separated paths for `--files-from`, to write at `listFile` before running. */
  list?: { path: string; text: string };
}

/** The flags that turn a phase-1 pass into one that only deletes. */
export const DELETE_ONLY = ['--existing', '--ignore-existing'] as const;

/**
 * Phase 2 of one phase-1 pass: delete-only then send-selected, either left out when there is nothing to do.
 * `listFile` is where a tree pass's `--files-from` list goes (a private temporary file).
 */
export function refreshPasses(pass: Pass, selection: Selection, listFile: string): RefreshPass[] {
  const scope = pass.scope;
  if (scope === undefined) return [];
  const out: RefreshPass[] = [];
  if (selection.deletions && scope.kind !== 'files') out.push(deletePass(pass, scope));
  const names = selection.send.filter((path) => path !== '.' || scope.kind === 'tree');
  if (names.length === 0) return out;
  const base = { cwd: pass.cwd, first: false, bytes: selection.bytes };
  if (scope.kind === 'tree') {
    out.push({
      ...base,
      name: `${pass.name}: ${names.length} changed`,
      args: [...scope.flags, '--from0', `--files-from=${listFile}`, scope.source, scope.dest],
      files: names.length,
      list: { path: listFile, text: names.map((n) => `${n}\0`).join('') },
    });
  } else {
    out.push({
      ...base,
      name: `${pass.name}: ${names.length} changed`,
      args: [...scope.flags, ...names.map(local), scope.dest],
      files: names.length,
    });
  }
  return out;
}

function deletePass(pass: Pass, scope: PassScope): RefreshPass {
  const shape = scope.kind === 'root' ? ['--dirs', '--delete'] : ['--recursive', '--delete'];
  return {
    name: `${pass.name}: deletions`,
    cwd: pass.cwd,
    args: [...scope.flags, ...shape, ...DELETE_ONLY, ...scope.filters, scope.source, scope.dest],
    first: false,
    bytes: 0,
  };
}
