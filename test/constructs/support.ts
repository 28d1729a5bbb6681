/** Synthesis helpers for the construct tests: a fresh app and stack, and the synthesized JSON parsed. */
import { Testing, TerraformStack, type App } from 'cdktf';

export interface Synth {
  text: string;
  json: any;
  /** resource[type] as an array of [logical id, body]. */
  resources(type: string): [string, any][];
  one(type: string): any;
}

export function stackFor(id = 'test'): { app: App; stack: TerraformStack } {
  const app = Testing.app();
  return { app, stack: new TerraformStack(app, id) };
}

export function synth(stack: TerraformStack): Synth {
  const text = Testing.synth(stack);
  const json = JSON.parse(text);
  const resources = (type: string): [string, any][] => Object.entries(json.resource?.[type] ?? {});
  return {
    text,
    json,
    resources,
    one(type) {
      const found = resources(type);
      if (found.length !== 1) throw new Error(`expected one ${type}, found ${found.length}`);
      return found[0]![1];
    },
  };
}

/** Runs `fn` and returns the error it throws (fails the test if it does not throw). */
export function thrown(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}
