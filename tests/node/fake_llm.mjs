// tests/node/fake_llm.mjs — starts the jarvis-fake-llm executable (tests/support/fakes) as a
// subprocess for one test file and scripts it through its control endpoints.
//
//   const fake = await startFake('openai', { apiKey: 'sk-test' });
//   await fake.script({ kind: 'text', text: 'Hello there', chunks: 3 });
//   … call fake.baseUrl with the vendor's SDK …
//   const sent = await fake.requests();   // [{method, path, headers, json, …}]
//   await fake.stop();
//
// The binary comes from $JARVIS_FAKE_LLM (ctest sets it) or build/tests/jarvis-fake-llm.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const defaultBinary = path.resolve(here, '../../build/tests/jarvis-fake-llm');

/** Starts one fake of `dialect` ('openai' | 'gemini' | 'anthropic') on a free port. */
export async function startFake(dialect, { apiKey = '' } = {}) {
  const binary = process.env.JARVIS_FAKE_LLM || defaultBinary;
  if (!existsSync(binary)) throw new Error(`jarvis-fake-llm not found at ${binary} (build it first)`);
  const args = ['--dialect', dialect];
  if (apiKey) args.push('--api-key', apiKey);
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const onData = (data) => {
      out += data.toString();
      const m = out.match(/PORT=(\d+)\n/);
      if (m) {
        child.stdout.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`jarvis-fake-llm exited with ${code}: ${out}`)));
  });
  const root = `http://127.0.0.1:${port}`;
  const control = async (method, route, body) => {
    const res = await fetch(root + route, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  return {
    port,
    root,
    /** What the vendor's SDK takes as its base URL (openai: with /v1). */
    baseUrl: dialect === 'openai' ? `${root}/v1` : root,
    /** Appends one scripted reply (or an array of them). */
    script: (reply) => control('POST', '/_fake/script', reply),
    /** Every request the fake received (control requests excepted). */
    requests: () => control('GET', '/_fake/requests'),
    /** {pending, requests, client_closes, dialect}. */
    state: () => control('GET', '/_fake/state'),
    /** Waits until a client closed a connection mid-answer; rejects after `ms`. */
    async waitClientClosed(ms = 20000) {
      const until = Date.now() + ms;
      while (Date.now() < until) {
        if ((await control('GET', '/_fake/state')).client_closes > 0) return;
        await new Promise((r) => setTimeout(r, 10));
      }
      throw new Error('the fake never saw the client close the connection');
    },
    /** Stops the subprocess. */
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.removeAllListeners('exit');
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
