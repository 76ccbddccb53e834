// tests/node/fake_github.mjs — starts the jarvis-fake-github executable (tests/support/fakes) as
// a subprocess and scripts it through its control endpoints.
//
//   const gh = await startFakeGitHub({ token: 'ghp_test' });
//   await gh.control('POST', '/_fake/pulls', { repo: 'octo/hello', pull: { number: 7 }, file_count: 250 });
//   … new Octokit({ auth: 'ghp_test', baseUrl: gh.baseUrl }) …
//   await gh.stop();
//
// The binary comes from $JARVIS_FAKE_DIR/jarvis-fake-github (ctest sets it) or build/tests.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The directory of the jarvis-fake-* executables. */
export function fakeDir() {
  return process.env.JARVIS_FAKE_DIR || path.resolve(here, '../../build/tests');
}

/** Starts one fake GitHub on a free port. */
export async function startFakeGitHub({ token = 'ghp_test', bot = 'jarvis-bot' } = {}) {
  const binary = path.join(fakeDir(), 'jarvis-fake-github');
  if (!existsSync(binary)) throw new Error(`jarvis-fake-github not found at ${binary} (build it first)`);
  const child = spawn(binary, ['--token', token, '--bot', bot], { stdio: ['ignore', 'pipe', 'inherit'] });
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
    child.once('exit', (code) => reject(new Error(`jarvis-fake-github exited with ${code}: ${out}`)));
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  const control = async (method, route, body) => {
    const res = await fetch(baseUrl + route, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const json = await res.json();
    if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${JSON.stringify(json)}`);
    return json;
  };
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  return { baseUrl, port, control, stop };
}
