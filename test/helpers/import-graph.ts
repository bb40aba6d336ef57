/**
 * The import graph of src/, for the layering test: every relative import of every module (static, `import type`,
 * `export ... from` and dynamic `import()`: a lazy or type-only import is still a dependency a reader has to
 * follow), read with TypeScript's own pre-processor rather than a regular expression.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';

/** Module path (relative to the repository, `src/...ts`) to the modules it imports. */
export type ImportGraph = Map<string, string[]>;

/** Reads every non-test module under `srcDir` (a path relative to `root`). */
export function readImportGraph(root: string, srcDir = 'src'): ImportGraph {
  const graph: ImportGraph = new Map();
  const files = readdirSync(join(root, srcDir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'))
    .map((f) => join(srcDir, f))
    .sort();
  for (const file of files) {
    const { importedFiles } = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
    const targets = importedFiles
      .map((i) => i.fileName)
      .filter((name) => name.startsWith('.'))
      // NodeNext: `./x.js` in the source is `./x.ts` on disk.
      .map((name) => relative('.', join(dirname(file), name)).replace(/\.js$/, '.ts'));
    graph.set(file, [...new Set(targets)]);
  }
  return graph;
}

/** The import circles of `graph`: its strongly connected components of more than one module, or a self-import. */
export function importCircles(graph: ImportGraph): string[][] {
  // Tarjan's algorithm, iterative enough for a few hundred modules (recursion depth = longest import chain).
  let index = 0;
  const indices = new Map<string, number>();
  const lowlinks = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const circles: string[][] = [];
  const visit = (node: string): void => {
    indices.set(node, index);
    lowlinks.set(node, index);
    index++;
    stack.push(node);
    onStack.add(node);
    for (const next of graph.get(node) ?? []) {
      if (!graph.has(next)) continue;
      if (!indices.has(next)) {
        visit(next);
        lowlinks.set(node, Math.min(lowlinks.get(node)!, lowlinks.get(next)!));
      } else if (onStack.has(next)) {
        lowlinks.set(node, Math.min(lowlinks.get(node)!, indices.get(next)!));
      }
    }
    if (lowlinks.get(node) !== indices.get(node)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.push(member);
    } while (member !== node);
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) circles.push(component.sort());
  };
  for (const node of graph.keys()) if (!indices.has(node)) visit(node);
  return circles;
}

/**
 * Layers from the bottom up: each entry is a top-level module (`src/log.ts`) or directory (`src/tls`). A module
 * may import its own directory and anything in a lower layer, nothing beside or above it.
 */
export type Layers = readonly (readonly string[])[];

/** Where a module sits: its layer's index and its unit (directory or top-level file); undefined if unlisted. */
function placeOf(layers: Layers, file: string): { layer: number; unit: string } | undefined {
  for (const [layer, units] of layers.entries())
    for (const unit of units) if (file === unit || file.startsWith(`${unit}/`)) return { layer, unit };
  return undefined;
}

/** Every import that breaks the layering, as `from -> to`, plus every module that sits in no layer. */
export function layerViolations(graph: ImportGraph, layers: Layers): string[] {
  const problems: string[] = [];
  for (const [from, targets] of graph) {
    const here = placeOf(layers, from);
    if (here === undefined) {
      problems.push(`${from} sits in no layer`);
      continue;
    }
    for (const to of targets) {
      const there = placeOf(layers, to);
      if (there === undefined || there.unit === here.unit) continue;
      if (there.layer >= here.layer) problems.push(`${from} -> ${to}`);
    }
  }
  return problems;
}
