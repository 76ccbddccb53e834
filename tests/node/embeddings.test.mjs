// jarvis-fake-embeddings (the memory plugin's openai and ollama embedders' counterpart), checked
// with OpenAI's official Node client: if the fake's /v1/embeddings answers (float and base64
// encodings, indexes, usage) or its error bodies drifted from OpenAI's, the SDK would fail here.
// The Ollama dialect is checked with plain fetch against Ollama's documented shapes.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import OpenAI from 'openai';

import { spawnFake } from './spawn_fake.mjs';

async function start(args) {
  const { root, stop } = await spawnFake('embeddings', args);
  return {
    root,
    requests: async () => (await (await fetch(`${root}/_fake/requests`)).json()).requests,
    fail: async (statuses) =>
      fetch(`${root}/_fake/fail`, { method: 'POST', body: JSON.stringify(statuses) }),
    stop,
  };
}

const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
const dot = (a, b) => a.reduce((s, x, i) => s + x * b[i], 0);

let fake;
let client;
beforeEach(async () => {
  fake = await start(['--api-key', 'sk-embed', '--dims', '64']);
  client = new OpenAI({ apiKey: 'sk-embed', baseURL: `${fake.root}/v1`, maxRetries: 0 });
});
afterEach(async () => fake.stop());

test('batch of inputs: one unit vector per input, in order, deterministic', async () => {
  const r = await client.embeddings.create({
    model: 'text-embedding-3-small',
    input: ['the car is in the garage', 'where is the car parked', 'photosynthesis in leaves'],
  });
  assert.equal(r.object, 'list');
  assert.equal(r.model, 'text-embedding-3-small');
  assert.equal(r.data.length, 3);
  r.data.forEach((d, i) => {
    assert.equal(d.index, i);
    assert.equal(d.object, 'embedding');
    assert.equal(d.embedding.length, 64);
    assert.ok(Math.abs(norm(d.embedding) - 1) < 1e-5);
  });
  assert.ok(dot(r.data[0].embedding, r.data[1].embedding) > dot(r.data[0].embedding, r.data[2].embedding));
  assert.ok(r.usage.prompt_tokens > 0);
  const again = await client.embeddings.create({ model: 'm', input: 'the car is in the garage' });
  assert.deepEqual(again.data[0].embedding, r.data[0].embedding);
  // The SDK asks for base64 by default and decodes it: the fake's encoding must round-trip.
  const [first] = await fake.requests();
  assert.equal(first.body.encoding_format, 'base64');
  assert.equal(first.authorization, 'Bearer sk-embed');
});

test('float encoding as the memory plugin asks for it', async () => {
  const r = await client.embeddings.create({ model: 'm', input: 'hello world', encoding_format: 'float' });
  assert.equal(r.data[0].embedding.length, 64);
  const reqs = await fake.requests();
  assert.equal(reqs.at(-1).body.encoding_format, 'float');
});

test('wrong key: 401 AuthenticationError; injected 503: InternalServerError', async () => {
  const bad = new OpenAI({ apiKey: 'sk-wrong', baseURL: `${fake.root}/v1`, maxRetries: 0 });
  await assert.rejects(bad.embeddings.create({ model: 'm', input: 'x' }), (e) => {
    assert.equal(e.status, 401);
    assert.equal(e.code, 'invalid_api_key');
    assert.ok(e instanceof OpenAI.AuthenticationError);
    return true;
  });
  await fake.fail([503]);
  await assert.rejects(client.embeddings.create({ model: 'm', input: 'x' }), (e) => {
    assert.equal(e.status, 503);
    assert.ok(e instanceof OpenAI.InternalServerError);
    return true;
  });
  const ok = await client.embeddings.create({ model: 'm', input: 'x' });
  assert.equal(ok.data.length, 1);
});

test('bad input: 400 BadRequestError', async () => {
  await assert.rejects(client.embeddings.create({ model: 'm', input: [1, 2] }), (e) => {
    assert.equal(e.status, 400);
    assert.ok(e instanceof OpenAI.BadRequestError);
    return true;
  });
});

test('ollama dialects: /api/embed batches, /api/embeddings one prompt', async () => {
  const r = await fetch(`${fake.root}/api/embed`, {
    method: 'POST',
    body: JSON.stringify({ model: 'nomic-embed-text', input: ['a b', 'c d'] }),
  });
  assert.equal(r.status, 200);
  const j = await r.json();
  assert.equal(j.model, 'nomic-embed-text');
  assert.equal(j.embeddings.length, 2);
  const old = await (
    await fetch(`${fake.root}/api/embeddings`, {
      method: 'POST',
      body: JSON.stringify({ model: 'nomic-embed-text', prompt: 'a b' }),
    })
  ).json();
  assert.deepEqual(old.embedding, j.embeddings[0]);
});
