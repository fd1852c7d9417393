import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

const SRC = join(__dirname);

/** The folder of `src/` a file belongs to (`main.ts` and the other top-level files count as their own). */
function folderOf(file: string): string {
  const rel = relative(SRC, file);
  return rel.includes(sep) ? rel.split(sep)[0] : rel.replace(/\.ts$/, '');
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/** Folder -> folders it imports from (type-only imports included: they tie the code as much). */
function importGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>();
  for (const file of sourceFiles(SRC)) {
    const from = folderOf(file);
    const targets = graph.get(from) ?? new Set<string>();
    graph.set(from, targets);
    for (const [, spec] of readFileSync(file, 'utf8').matchAll(/(?:import|export)[^'"]*?from\s+'(\.[^']+)'/g)) {
      const to = folderOf(normalize(join(dirname(file), spec)) + '.ts');
      if (to !== from) targets.add(to);
    }
  }
  return graph;
}

function reaches(graph: Map<string, Set<string>>, from: string, to: string, seen = new Set<string>()): boolean {
  if (from === to) return true;
  seen.add(from);
  return [...(graph.get(from) ?? [])].some((next) => !seen.has(next) && reaches(graph, next, to, seen));
}

describe('the import graph of src/', () => {
  const graph = importGraph();

  it('runs one way: no folder imports one that imports it back', () => {
    const cycles: string[] = [];
    for (const [from, targets] of graph) {
      for (const to of targets) if (reaches(graph, to, from)) cycles.push(`${from} -> ${to}`);
    }
    expect(cycles).toEqual([]);
  });

  it('keeps the provider clients and the metrics apart from the simulator and from each other', () => {
    const imports = (folder: string) => [...(graph.get(folder) ?? [])];
    for (const folder of ['apns', 'fcm', 'metrics']) expect(imports(folder)).not.toContain('simulator');
    expect(imports('apns')).not.toContain('fcm');
    expect(imports('fcm')).not.toContain('apns');
  });

  it('is read from the code: the graph has the folders it is about', () => {
    expect([...graph.keys()]).toEqual(expect.arrayContaining(['apns', 'fcm', 'push', 'provider', 'simulator', 'metrics']));
    expect(graph.get('push')).toContain('provider');
  });
});

describe('platform branches', () => {
  it('name a platform constant only in the request mapping (notification/) and in the providers themselves', () => {
    const allowed = new Set(['notification/notification.dto.ts', 'apns/apns.provider.ts', 'fcm/fcm.provider.ts']);
    const naming = sourceFiles(SRC)
      .filter((file) => /\bPLATFORM_(IOS|ANDROID)\b/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(SRC, file).split(sep).join('/'));
    expect(naming.filter((file) => !allowed.has(file))).toEqual([]);
    expect(naming).toEqual(expect.arrayContaining([...allowed]));
  });
});
