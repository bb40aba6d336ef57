/**
 * Keeps src/ free of import circles and its layers in order (issue #16): a module imports its own directory and
 * what lies below it, never beside or above. The command modules (`command.ts`, registered by cli.ts) and the
 * tools (doctor, bench, demo) sit on top, so the SST never loads them; the checks both the SST and the doctor run
 * live below both, in src/preflight.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  importCircles,
  layerViolations,
  readImportGraph,
  type ImportGraph,
  type Layers,
} from '../helpers/import-graph.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Bottom up. Units in one layer do not import each other. */
const LAYERS: Layers = [
  ['src/errors.ts', 'src/log.ts', 'src/version.ts', 'src/self.ts'],
  ['src/config', 'src/rsync', 'src/certs'],
  ['src/tls'],
  // The checks both the SST preflight and the doctor run (one rule, one place: issue #16).
  ['src/tunnel', 'src/preflight'],
  // The SST loads nothing of the tools above it (doctor, bench, demo) nor any command module.
  ['src/sst'],
  ['src/demo'],
  ['src/doctor', 'src/bench'],
  ['src/cli.ts'],
];

const graph = readImportGraph(ROOT);

describe('the import graph of src/', () => {
  it('reads every module, with its lazy and type-only imports', () => {
    expect(graph.size).toBeGreaterThan(100);
    // tunnel/command.ts loads listenCommand.ts lazily and imports its options type: both are edges.
    expect(graph.get('src/tunnel/command.ts')).toContain('src/tunnel/listenCommand.ts');
    expect(graph.get('src/cli.ts')).toContain('src/sst/command.ts');
  });

  it('has no import circle', () => {
    expect(importCircles(graph)).toEqual([]);
  });

  it('keeps its layers: nothing imports beside or above itself', () => {
    expect(layerViolations(graph, LAYERS)).toEqual([]);
  });

  it('loads the command modules only from cli.ts', () => {
    const importers = [...graph]
      .filter(([from, targets]) => from !== 'src/cli.ts' && targets.some((t) => t.endsWith('/command.ts')))
      .map(([from]) => from);
    expect(importers).toEqual([]);
  });
});

describe('the checks themselves', () => {
  const fake: ImportGraph = new Map([
    ['src/tunnel/a.ts', ['src/tunnel/b.ts', 'src/log.ts']],
    ['src/tunnel/b.ts', ['src/tunnel/c.ts']],
    ['src/tunnel/c.ts', ['src/tunnel/a.ts']],
    ['src/sst/d.ts', ['src/sst/d.ts', 'src/doctor/e.ts']],
    ['src/doctor/e.ts', ['src/sst/d.ts']],
    ['src/log.ts', []],
    ['src/stray.ts', []],
  ]);

  it('finds a circle of three, and one through a self-import', () => {
    expect(importCircles(fake)).toEqual([
      ['src/tunnel/a.ts', 'src/tunnel/b.ts', 'src/tunnel/c.ts'],
      ['src/doctor/e.ts', 'src/sst/d.ts'],
    ]);
    expect(importCircles(new Map([['src/x.ts', ['src/x.ts']]]))).toEqual([['src/x.ts']]);
  });

  it('names an import upwards and a module in no layer', () => {
    expect(layerViolations(fake, LAYERS)).toEqual([
      'src/sst/d.ts -> src/doctor/e.ts',
      'src/stray.ts sits in no layer',
    ]);
  });
});
