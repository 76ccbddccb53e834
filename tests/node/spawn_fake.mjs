// tests/node/spawn_fake.mjs — starts one jarvis-fake-<name> executable (tests/support/fakes) as a
// subprocess on a free port and talks to its control endpoints. The per-vendor helpers
// (fake_llm.mjs, fake_github.mjs) and the Node checks build on it.
//
//   const fake = await spawnFake('embeddings', ['--api-key', 'sk-embed']);
//   const sent = await fake.control('GET', '/_fake/requests');   // throws on a non-2xx answer
//   … point the vendor's client at fake.root …
//   await fake.stop();
//
// The executables come from $JARVIS_FAKE_DIR (ctest sets it) or build/tests.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The directory of the jarvis-fake-* executables. */
export function fakeDir() {
  return process.env.JARVIS_FAKE_DIR || path.resolve(here, '../../build/tests');
}

/**
 * Starts `binary` (a path, or the name after "jarvis-fake-") with `args`, resolves once it printed
 * PORT=<n>; rejects when it exits first. Returns {port, root, control(method, route, body), stop}.
 */
export async function spawnFake(binary, args = []) {
  const file = binary.includes('/') ? binary : path.join(fakeDir(), `jarvis-fake-${binary}`);
  const name = path.basename(file);
  if (!existsSync(file)) throw new Error(`${name} not found at ${file} (build it first)`);
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    const onData = (data) => {
      out += data.toString();
      const m = out.match(/PORT=(\d+)\n/);
      if (m) {
        child.stdout.off('data', onData);
        child.removeAllListeners('exit');
        resolve(Number(m[1]));
      }
    };
    child.stdout.on('data', onData);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}: ${out}`)));
  });
  const root = `http://127.0.0.1:${port}`;
  /** One control request; the parsed JSON answer, or an Error naming the status. */
  const control = async (method, route, body) => {
    const res = await fetch(root + route, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    const json = text ? JSON.parse(text) : null;
    if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text}`);
    return json;
  };
  /** Stops the subprocess (SIGTERM) and waits for it to exit. */
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  return { port, root, control, stop };
}
