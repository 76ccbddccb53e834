// tests/node/fake_llm.mjs — starts the jarvis-fake-llm executable (tests/support/fakes) as a
// subprocess for one test file and scripts it through its control endpoints.
//
//   const fake = await startFake('openai', { apiKey: 'sk-test' });
//   await fake.script({ kind: 'text', text: 'Hello there', chunks: 3 });
//   … call fake.baseUrl with the vendor's SDK …
//   const sent = await fake.requests();   // [{method, path, headers, json, …}]
//   await fake.stop();
//
// The binary comes from $JARVIS_FAKE_LLM, else $JARVIS_FAKE_DIR or build/tests (spawn_fake.mjs).
import { spawnFake } from './spawn_fake.mjs';

/** Starts one fake of `dialect` ('openai' | 'gemini' | 'anthropic') on a free port. */
export async function startFake(dialect, { apiKey = '' } = {}) {
  const args = ['--dialect', dialect];
  if (apiKey) args.push('--api-key', apiKey);
  const { port, root, control, stop } = await spawnFake(process.env.JARVIS_FAKE_LLM || 'llm', args);
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
    stop,
  };
}
