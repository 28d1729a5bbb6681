/** Synthesis helpers for the construct tests: a fresh app and stack, and the synthesized JSON parsed. */
import { Testing, TerraformStack, type App } from 'cdktf';
import { KeywardClient } from '../../src/client/index.ts';
import { createRotationHandler, type RotationConfig, type RotationHandlerOptions, type RotationStep } from '../../src/constructs/aws/rotation-handler.ts';

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

export const ROTATION_STEPS: RotationStep[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

/** The rotation handler for one secret, as the rotation tests configure it, with its log kept. */
export function rotationHandlerFor(options: { secretsManager: RotationHandlerOptions['secretsManager']; secretId: string; url: string; adminKeySecretArn: string; config?: Partial<RotationConfig> }) {
  const logs: Record<string, unknown>[] = [];
  const config: RotationConfig = {
    url: options.url,
    adminKeySecretArn: options.adminKeySecretArn,
    keyName: 'Billing worker (production)',
    role: 'verifier',
    environment: 'production',
    overlap: '24h',
    ipAllowlist: [],
    revokeOld: 'afterGrace',
    ...options.config,
  };
  const rotate = createRotationHandler({ secretsManager: options.secretsManager, keywardClient: (o) => new KeywardClient(o), config, log: (event) => logs.push(event) });
  const step = (token: string, Step: RotationStep) => rotate({ SecretId: options.secretId, ClientRequestToken: token, Step });
  return { logs, step };
}
