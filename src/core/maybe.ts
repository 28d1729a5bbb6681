/**
 * A value that is there now, or a promise of it. The verify path's reads are
 * answered from memory when the store holds the answer, and only a cache miss
 * is a promise; `chain` goes on from such a value without allocating a
 * promise when it is already there (awaiting costs a third of verify's
 * throughput). Not named `then`: a module exporting `then` is a thenable to
 * `await import()`.
 */
export type MaybePromise<T> = T | Promise<T>;

/** `next(value)`: now when the value is there, once it is when it is a promise. */
export function chain<T, R>(value: MaybePromise<T>, next: (value: T) => MaybePromise<R>): MaybePromise<R> {
  return value instanceof Promise ? value.then(next) : next(value);
}
