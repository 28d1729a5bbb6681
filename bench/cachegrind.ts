/**
 * Reads cachegrind output files (`--cache-sim=no`: one event, Ir) for
 * bench/instructions.ts: instructions by function, the difference of two
 * runs of one server (what the extra requests cost), and that difference
 * split into V8's compilers, its garbage collector and the rest (the
 * "mutator": JavaScript, builtins, JSON, SHA-256, libuv, llhttp). JIT code
 * has no symbols for valgrind and is counted as `???` in the mutator.
 */
import { readFileSync } from 'node:fs';

/** Instructions by function name (summed over files and lines). */
export function functionTotals(file: string): Map<string, number> {
  const totals = new Map<string, number>();
  let fn = '';
  let sum = 0;
  const flush = () => {
    if (fn) totals.set(fn, (totals.get(fn) ?? 0) + sum);
    sum = 0;
  };
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (line.startsWith('fn=')) {
      flush();
      fn = line.slice(3);
    } else if (line.length > 0 && line.charCodeAt(0) >= 48 && line.charCodeAt(0) <= 57) {
      const space = line.indexOf(' ');
      if (space > 0) sum += Number(line.slice(space + 1));
    }
  }
  flush();
  return totals;
}

/** `later` minus `earlier`, by function, divided by `per`. */
export function difference(earlier: Map<string, number>, later: Map<string, number>, per: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const [fn, n] of later) out.set(fn, (n - (earlier.get(fn) ?? 0)) / per);
  for (const [fn, n] of earlier) if (!later.has(fn)) out.set(fn, -n / per);
  return out;
}

/** The qualified name of a symbol, without its return type, template arguments and parameters. */
function qualifiedName(symbol: string): string {
  let name = symbol.replaceAll('(anonymous namespace)', 'anon');
  const paren = name.indexOf('(');
  if (paren > 0) name = name.slice(0, paren);
  while (/<[^<>]*>/.test(name)) name = name.replace(/<[^<>]*>/g, '');
  return name.slice(name.lastIndexOf(' ') + 1);
}

const COMPILER = /^v8::internal::(compiler|maglev|baseline|interpreter|wasm)::|^v8::internal::(Parser|ParserBase|Scanner|Compiler|OptimizingCompileDispatcher|Zone|AstValueFactory|Deoptimizer|DeclarationScope|Scope|BytecodeGenerator)\w*::/;
const COLLECTOR =
  /::(Heap|Scavenger\w*|\w*Collector|\w*Marking\w*|\w*Sweeper|\w*Evacuat\w*|GCTracer|RememberedSet\w*|SlotSet|\w*Space|MemoryAllocator|\w*PageMetadata|\w*Visitor|BodyDescriptorBase|WriteBarrier|FreeList\w*|HeapObject)::|::IterateObjectCache$|^heap::base::|^cppgc::/;

export type Part = 'compilers' | 'collector' | 'mutator';
export function partOf(symbol: string): Part {
  const name = qualifiedName(symbol);
  return COMPILER.test(name) ? 'compilers' : COLLECTOR.test(name) ? 'collector' : 'mutator';
}

/** The per-request difference split into its parts (they add up to `total`). */
export function split(diff: Map<string, number>): Record<Part | 'total', number> {
  const parts = { total: 0, mutator: 0, collector: 0, compilers: 0 };
  for (const [fn, n] of diff) {
    parts[partOf(fn)] += n;
    parts.total += n;
  }
  return parts;
}

/** The mutator functions whose cost differs most between two per-request differences (b - a), largest first. */
export function largestChanges(a: Map<string, number>, b: Map<string, number>, top: number): { fn: string; a: number; b: number }[] {
  const names = new Set([...a.keys(), ...b.keys()].filter((fn) => partOf(fn) === 'mutator'));
  return [...names]
    .map((fn) => ({ fn, a: a.get(fn) ?? 0, b: b.get(fn) ?? 0 }))
    .sort((x, y) => Math.abs(y.b - y.a) - Math.abs(x.b - x.a))
    .slice(0, top);
}
