// The gemini dialect of jarvis-fake-llm, checked with Google's official Node client
// (`@google/genai`, Gemini API with an API key): generateContent, streamGenerateContent?alt=sse,
// function calls, thoughts, usageMetadata and Google's error bodies.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { GoogleGenAI } from '@google/genai';

import { startFake } from './fake_llm.mjs';

let fake;
let ai;
beforeEach(async () => {
  fake = await startFake('gemini', { apiKey: 'gm-test' });
  ai = new GoogleGenAI({ apiKey: 'gm-test', httpOptions: { baseUrl: fake.baseUrl } });
});
afterEach(async () => fake.stop());

const model = 'gemini-fake';

test('generateContent: default echo reply, usageMetadata, x-goog-api-key arriving', async () => {
  const r = await ai.models.generateContent({ model, contents: 'hello' });
  assert.equal(r.text, 'echo: hello');
  assert.equal(r.candidates[0].finishReason, 'STOP');
  assert.equal(r.usageMetadata.promptTokenCount, 10);
  assert.equal(r.usageMetadata.candidatesTokenCount, 5);
  assert.equal(r.usageMetadata.totalTokenCount, 15);
  const [sent] = await fake.requests();
  assert.equal(sent.method, 'POST');
  assert.equal(sent.path, `/v1beta/models/${model}:generateContent`);
  assert.equal(sent.headers['x-goog-api-key'], 'gm-test');
  assert.deepEqual(sent.json.contents, [{ role: 'user', parts: [{ text: 'hello' }] }]);
});

test('generateContentStream: text in the scripted chunks, thoughts apart, usage at the end', async () => {
  await fake.script({ kind: 'text', text: 'The answer is 42.', reasoning: 'Hmm.', chunks: 3 });
  const stream = await ai.models.generateContentStream({ model, contents: 'hello' });
  const texts = [];
  let thoughts = '';
  let last;
  for await (const chunk of stream) {
    last = chunk;
    for (const part of chunk.candidates[0].content.parts) {
      if (part.thought) thoughts += part.text;
      else texts.push(part.text);
    }
  }
  assert.equal(texts.join(''), 'The answer is 42.');
  assert.equal(texts.length, 3);
  assert.equal(thoughts, 'Hmm.');
  assert.equal(last.candidates[0].finishReason, 'STOP');
  assert.equal(last.usageMetadata.totalTokenCount, 15);
  const [sent] = await fake.requests();
  assert.equal(sent.target, `/v1beta/models/${model}:streamGenerateContent?alt=sse`);
});

test('function calls: streamed and not, with the declared tools arriving', async () => {
  const calls = [
    { name: 'memory_search', arguments: { query: 'cats', limit: 3 } },
    { name: 'get_weather', arguments: { city: 'Zürich' } },
  ];
  await fake.script([{ kind: 'tool_calls', tool_calls: calls }, { kind: 'tool_calls', tool_calls: calls }]);
  const tools = [
    {
      functionDeclarations: [
        { name: 'memory_search', parametersJsonSchema: { type: 'object' } },
        { name: 'get_weather', parametersJsonSchema: { type: 'object' } },
      ],
    },
  ];
  const stream = await ai.models.generateContentStream({ model, contents: 'hello', config: { tools } });
  const got = [];
  for await (const chunk of stream) got.push(...(chunk.functionCalls ?? []));
  assert.deepEqual(
    got.map((c) => [c.name, c.args]),
    [
      ['memory_search', { query: 'cats', limit: 3 }],
      ['get_weather', { city: 'Zürich' }],
    ],
  );
  const r = await ai.models.generateContent({ model, contents: 'hello', config: { tools } });
  assert.deepEqual(r.functionCalls.map((c) => c.name), ['memory_search', 'get_weather']);
  const [sent] = await fake.requests();
  assert.deepEqual(sent.json.tools, tools);
});

test('a function name Gemini refuses gets 400 INVALID_ARGUMENT', async () => {
  const tools = [{ functionDeclarations: [{ name: '1bad name', parametersJsonSchema: { type: 'object' } }] }];
  await assert.rejects(
    ai.models.generateContent({ model, contents: 'hello', config: { tools } }),
    (e) => e.name === 'ApiError' && e.status === 400 && /INVALID_ARGUMENT/.test(e.message),
  );
});

test('429 surfaces as ApiError status 429 RESOURCE_EXHAUSTED, with Retry-After and RetryInfo', async () => {
  await fake.script({ kind: 'http_error', status: 429, retry_after: '5' });
  await assert.rejects(ai.models.generateContent({ model, contents: 'hello' }), (e) => {
    assert.equal(e.name, 'ApiError', String(e));
    assert.equal(e.status, 429);
    const body = JSON.parse(e.message);
    assert.equal(body.error.code, 429);
    assert.equal(body.error.status, 'RESOURCE_EXHAUSTED');
    assert.equal(body.error.details[0].retryDelay, '5s');
    return true;
  });
  // The SDK's ApiError keeps no headers: the Retry-After header itself, read raw.
  await fake.script({ kind: 'http_error', status: 429, retry_after: '5' });
  const res = await fetch(`${fake.root}/v1beta/models/${model}:generateContent`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-goog-api-key': 'gm-test' },
    body: JSON.stringify({ contents: [{ parts: [{ text: 'hi' }] }] }),
  });
  assert.equal(res.status, 429);
  assert.equal(res.headers.get('retry-after'), '5');
});

test('500 surfaces as ApiError status 500 INTERNAL, also on a stream', async () => {
  await fake.script([{ kind: 'http_error', status: 500 }, { kind: 'http_error', status: 503 }]);
  await assert.rejects(
    ai.models.generateContent({ model, contents: 'hello' }),
    (e) => e.name === 'ApiError' && e.status === 500 && /INTERNAL/.test(e.message),
  );
  await assert.rejects(
    ai.models.generateContentStream({ model, contents: 'hello' }),
    (e) => e.name === 'ApiError' && e.status === 503 && /UNAVAILABLE/.test(e.message),
  );
});

test('a wrong API key gets 400 API_KEY_INVALID; the key= query parameter works too', async () => {
  const wrong = new GoogleGenAI({ apiKey: 'gm-wrong', httpOptions: { baseUrl: fake.baseUrl } });
  await assert.rejects(
    wrong.models.generateContent({ model, contents: 'hello' }),
    (e) => e.name === 'ApiError' && e.status === 400 && /API_KEY_INVALID/.test(e.message),
  );
  const res = await fetch(`${fake.root}/v1beta/models/${model}:generateContent?key=gm-test`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ contents: [{ parts: [{ text: 'by query' }] }] }),
  });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).candidates[0].content.parts[0].text, 'echo: by query');
});

test('malformed JSON makes the SDK fail, non-stream and stream', async () => {
  await fake.script([{ kind: 'malformed' }, { kind: 'malformed' }]);
  await assert.rejects(ai.models.generateContent({ model, contents: 'hello' }));
  const stream = await ai.models.generateContentStream({ model, contents: 'hello' });
  const seen = [];
  await assert.rejects(async () => {
    for await (const chunk of stream) seen.push(chunk);
  });
  assert.equal(seen.length, 1);
});

test('a dropped connection mid-stream makes the SDK fail', async () => {
  await fake.script({ kind: 'drop', text: 'a long answer cut short', chunks: 4, stall_after_chunks: 2 });
  const stream = await ai.models.generateContentStream({ model, contents: 'hello' });
  const seen = [];
  await assert.rejects(async () => {
    for await (const chunk of stream) seen.push(chunk);
  });
  assert.equal(seen.length, 2);
});

test('a stalled stream hangs until the client aborts; the fake sees the connection closed', async () => {
  await fake.script({ kind: 'stall', stall_after_chunks: 1 });
  const abort = new AbortController();
  const stream = await ai.models.generateContentStream({
    model,
    contents: 'hello',
    config: { abortSignal: abort.signal },
  });
  const seen = [];
  await assert.rejects(async () => {
    for await (const chunk of stream) {
      seen.push(chunk);
      abort.abort();
    }
  });
  assert.equal(seen.length, 1);
  await fake.waitClientClosed();
});
