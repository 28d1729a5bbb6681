/**
 * A secret the user hands the CLI (`keyward login`, `keyward verify`): never
 * from argv, where `ps` and shell history would keep it. On a terminal it is
 * asked for without echo; otherwise it is the first line of stdin
 * (`pass show keyward/prod | keyward login …`).
 */
import { CliUsageError } from './errors.ts';

async function fromStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0]!.trim();
}

function fromPrompt(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    // Echo off before the prompt shows: a key pasted the moment it appears is not echoed either.
    stdin.setRawMode(true);
    process.stderr.write(prompt);
    stdin.resume();
    let text = '';
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') return finish(() => resolve(text.trim()));
        if (char === '\u0003') return finish(() => reject(new CliUsageError('interrupted: nothing was changed')));
        if (char === '\u007f' || char === '\b') text = text.slice(0, -1);
        else text += char;
      }
    };
    const finish = (then: () => void) => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
      then();
    };
    stdin.on('data', onData);
  });
}

export async function readSecret(prompt: string, what: string): Promise<string> {
  const secret = process.stdin.isTTY ? await fromPrompt(prompt) : await fromStdin();
  if (!secret) throw new CliUsageError(`no ${what}: type it at the prompt or pipe it on stdin (never as an argument, where \`ps\` shows it)`);
  return secret;
}
