// tests/node/fake_github.mjs — starts the jarvis-fake-github executable (tests/support/fakes) as
// a subprocess and scripts it through its control endpoints.
//
//   const gh = await startFakeGitHub({ token: 'ghp_test' });
//   await gh.control('POST', '/_fake/pulls', { repo: 'octo/hello', pull: { number: 7 }, file_count: 250 });
//   … new Octokit({ auth: 'ghp_test', baseUrl: gh.baseUrl }) …
//   await gh.stop();
//
// The binary comes from $JARVIS_FAKE_DIR (ctest sets it) or build/tests (spawn_fake.mjs).
import { spawnFake } from './spawn_fake.mjs';

/** Starts one fake GitHub on a free port. */
export async function startFakeGitHub({ token = 'ghp_test', bot = 'jarvis-bot' } = {}) {
  const { port, root, control, stop } = await spawnFake('github', ['--token', token, '--bot', bot]);
  return { baseUrl: root, port, control, stop };
}
