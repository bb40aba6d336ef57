/**
 * The second phase of a two-phase copy as rsync passes (issue #22): for each pass phase 1 ran (re-planned under
 * the lock, so new databases have theirs), a pass that only deletes, scoped exactly like the phase-1 pass, when a
 * name may have gone (changeSelect.ts), and a pass that sends only the selected entries. Pure; the donor runs them.
 *
 * - Deleting: the phase-1 pass's own flags, filters and operands plus `--existing --ignore-existing`, which send
 *   nothing, create nothing and update nothing: only --delete acts, on exactly the names phase 1's --delete
 *   would have judged (its filters protect the joiner's own files, grastate.dat among them, as before).
 *   At the top of the datadir it protects the database directories the plan has passes for: a symlink to a
 *   directory there is sent as a directory by its own pass, and the root pass (which sees a symlink, not a
 *   directory) would delete what that pass delivered; phase 1's root pass runs before the directory passes, so
 *   it never could. It runs after the sending pass: `--existing` cannot create a directory that replaced a file, and would then
 *   fail to descend into the joiner's file of that name.
 * - Sending: the phase-1 flags (`--ignore-times`: every listed file is sent or, for deltas, checked against the
 *   whole-file checksum; rsync's size+mtime quick check never decides) with the selected names as operands, or for
 *   a database directory as a `--files-from` list (NUL-separated, relative to it), which creates missing parent
 *   directories and applies the attributes of the directories listed. `--force`: a directory that became a
 *   file (or a link) is replaced even when the joiner's copy of it is not empty.
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
 * Phase 2 of one phase-1 pass: send-selected then delete-only, either left out when there is nothing to do.
 * `listFile` is where a tree pass's `--files-from` list goes (a private temporary file).
 */
export function refreshPasses(
  pass: Pass,
  selection: Selection,
  listFile: string,
  keep: readonly string[] = [],
): RefreshPass[] {
  const scope = pass.scope;
  if (scope === undefined) return [];
  const out: RefreshPass[] = [];
  const deletions = selection.deletions && scope.kind !== 'files' ? [deletePass(pass, scope, keep)] : [];
  const names = selection.send.filter((path) => path !== '.' || scope.kind === 'tree');
  if (names.length === 0) return deletions;
  const base = { cwd: pass.cwd, first: false, bytes: selection.bytes };
  if (scope.kind === 'tree') {
    out.push({
      ...base,
      name: `${pass.name}: ${names.length} changed`,
      args: [...scope.flags, '--force', '--from0', `--files-from=${listFile}`, scope.source, scope.dest],
      files: names.length,
      list: { path: listFile, text: names.map((n) => `${n}\0`).join('') },
    });
  } else {
    out.push({
      ...base,
      name: `${pass.name}: ${names.length} changed`,
      args: [...scope.flags, '--force', ...names.map(local), scope.dest],
      files: names.length,
    });
  }
  return [...out, ...deletions];
}

function deletePass(pass: Pass, scope: PassScope, keep: readonly string[]): RefreshPass {
  const shape = scope.kind === 'root' ? ['--dirs', '--delete'] : ['--recursive', '--delete'];
  const protect = scope.kind === 'root' ? keep.map((name) => `--filter=P /${name}`) : [];
  return {
    name: `${pass.name}: deletions`,
    cwd: pass.cwd,
    args: [...scope.flags, ...shape, ...DELETE_ONLY, ...protect, ...scope.filters, scope.source, scope.dest],
    first: false,
    bytes: 0,
  };
}
