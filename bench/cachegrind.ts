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

const COMPILER = /v8::internal::(compiler|maglev|baseline|interpreter|wasm)::|v8::internal::(Parser|ParserBase|Scanner|Compiler|OptimizingCompileDispatcher|CodeGenerator|Assembler|Zone|AstValueFactory|DeclarationScope|Scope::)|v8::internal::.*(Compil|Deoptimiz)/;
const COLLECTOR =
  /v8::internal::.*(Heap|Scaveng|Mark|Sweep|Evacuat|Compact|GCTracer|RememberedSet|SlotSet|PagedSpace|NewSpace|SemiSpace|MemoryAllocator|MemoryChunk|PageMetadata|MutablePageMetadata|Marking|RootVisitor|VisitRootPointer|IterateObjectCache|WeakObjects|ObjectVisitor|LargeObjectSpace|ArrayBufferSweeper|Collector|GlobalHandles|TracedHandles|Safepoint|ConcurrentMarking)/;

export type Part = 'compilers' | 'collector' | 'mutator';
export const partOf = (fn: string): Part => (COMPILER.test(fn) ? 'compilers' : COLLECTOR.test(fn) ? 'collector' : 'mutator');

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
