// The openai dialect of jarvis-fake-llm, checked with OpenAI's official Node client (`openai`):
// if the fake drifted from the real wire format, the SDK would fail to parse it or reassemble it.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import OpenAI from 'openai';

import { startFake } from './fake_llm.mjs';

let fake;
let client;
beforeEach(async () => {
  fake = await startFake('openai', { apiKey: 'sk-test' });
  client = new OpenAI({ apiKey: 'sk-test', baseURL: fake.baseUrl, maxRetries: 0 });
});
afterEach(async () => fake.stop());

const hello = [{ role: 'user', content: 'hello' }];

test('non-stream completion: default echo reply, usage, and the API key arriving', async () => {
  const r = await client.chat.completions.create({ model: 'fake-model', messages: hello });
  assert.equal(r.object, 'chat.completion');
  assert.equal(r.choices[0].message.content, 'echo: hello');
  assert.equal(r.choices[0].finish_reason, 'stop');
  assert.equal(r.usage.prompt_tokens, 10);
  assert.equal(r.usage.completion_tokens, 5);
  const [sent] = await fake.requests();
  assert.equal(sent.method, 'POST');
  assert.equal(sent.path, '/v1/chat/completions');
  assert.equal(sent.headers.authorization, 'Bearer sk-test');
  assert.equal(sent.json.model, 'fake-model');
  assert.deepEqual(sent.json.messages, hello);
});

test('streamed text arrives in the scripted deltas, reasoning_content apart, usage last', async () => {
  await fake.script({ kind: 'text', text: 'The answer is 42.', reasoning: 'think', chunks: 4 });
  const stream = await client.chat.completions.create({
    model: 'fake-model',
    messages: hello,
    stream: true,
    stream_options: { include_usage: true },
  });
  const content = [];
  let reasoning = '';
  let usage = null;
  let finish = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'chat.completion.chunk');
    if (chunk.usage) usage = chunk.usage;
    const choice = chunk.choices[0];
    if (!choice) continue;
    if (choice.delta.content) content.push(choice.delta.content);
    if (choice.delta.reasoning_content) reasoning += choice.delta.reasoning_content;
    if (choice.finish_reason) finish = choice.finish_reason;
  }
  assert.equal(content.join(''), 'The answer is 42.');
  assert.equal(content.length, 4);
  assert.equal(reasoning, 'think');
  assert.equal(finish, 'stop');
  assert.equal(usage.total_tokens, 15);
});

test('streamed tool calls are reassembled by the SDK (stream helper, finalChatCompletion)', async () => {
  await fake.script({
    kind: 'tool_calls',
    text: 'Let me look.',
    chunks: 5,
    tool_calls: [
      { id: 'call_a', name: 'memory_search', arguments: { query: 'cats', limit: 3 } },
      { id: 'call_b', name: 'get_weather', arguments: { city: 'Zürich' } },
    ],
  });
  const tools = [
    { type: 'function', function: { name: 'memory_search', parameters: { type: 'object' } } },
    { type: 'function', function: { name: 'get_weather', parameters: { type: 'object' } } },
  ];
  const stream = client.chat.completions.stream({ model: 'fake-model', messages: hello, tools });
  const done = [];
  stream.on('tool_calls.function.arguments.done', (e) => done.push(e.name));
  const final = await stream.finalChatCompletion();
  const msg = final.choices[0].message;
  assert.equal(final.choices[0].finish_reason, 'tool_calls');
  assert.equal(msg.content, 'Let me look.');
  assert.equal(msg.tool_calls.length, 2);
  assert.equal(msg.tool_calls[0].id, 'call_a');
  assert.equal(msg.tool_calls[0].function.name, 'memory_search');
  assert.deepEqual(JSON.parse(msg.tool_calls[0].function.arguments), { query: 'cats', limit: 3 });
  assert.equal(msg.tool_calls[1].id, 'call_b');
  assert.deepEqual(JSON.parse(msg.tool_calls[1].function.arguments), { city: 'Zürich' });
  assert.deepEqual(done, ['memory_search', 'get_weather']);
  const [sent] = await fake.requests();
  assert.deepEqual(sent.json.tools, tools);
  assert.equal(sent.json.stream, true);
});

test('non-stream tool calls; the follow-up with tool results is accepted', async () => {
  await fake.script({ kind: 'tool_calls', tool_calls: [{ id: 'call_1', name: 'add', arguments: { a: 1 } }] });
  const r = await client.chat.completions.create({ model: 'fake-model', messages: hello });
  const call = r.choices[0].message.tool_calls[0];
  assert.equal(call.function.name, 'add');
  assert.deepEqual(JSON.parse(call.function.arguments), { a: 1 });
  const next = await client.chat.completions.create({
    model: 'fake-model',
    messages: [...hello, r.choices[0].message, { role: 'tool', tool_call_id: 'call_1', content: '2' }],
  });
  assert.equal(next.choices[0].message.content, 'echo: hello');
});

test('a tool message that answers no call is refused with 400, as OpenAI does', async () => {
  await assert.rejects(
    client.chat.completions.create({
      model: 'fake-model',
      messages: [...hello, { role: 'tool', tool_call_id: 'call_x', content: '2' }],
    }),
    (e) => e instanceof OpenAI.BadRequestError && e.status === 400 && e.type === 'invalid_request_error',
  );
  const bad = [{ type: 'function', function: { name: 'memory.search', parameters: {} } }];
  await assert.rejects(
    client.chat.completions.create({ model: 'fake-model', messages: hello, tools: bad }),
    (e) => e instanceof OpenAI.BadRequestError && /tools\[0\]\.function\.name/.test(e.message),
  );
});

test('429 with Retry-After surfaces as RateLimitError', async () => {
  await fake.script({ kind: 'http_error', status: 429, retry_after: '7' });
  await assert.rejects(client.chat.completions.create({ model: 'fake-model', messages: hello }), (e) => {
    assert.ok(e instanceof OpenAI.RateLimitError, String(e));
    assert.equal(e.status, 429);
    assert.equal(e.headers.get('retry-after'), '7');
    assert.equal(e.code, 'rate_limit_exceeded');
    assert.equal(e.type, 'requests');
    assert.ok(e.requestID);
    return true;
  });
});

test('500 surfaces as InternalServerError, also on a streamed request', async () => {
  await fake.script([{ kind: 'http_error', status: 500 }, { kind: 'http_error', status: 503 }]);
  await assert.rejects(
    client.chat.completions.create({ model: 'fake-model', messages: hello }),
    (e) => e instanceof OpenAI.InternalServerError && e.status === 500 && e.type === 'server_error',
  );
  await assert.rejects(
    client.chat.completions.create({ model: 'fake-model', messages: hello, stream: true }),
    (e) => e instanceof OpenAI.InternalServerError && e.status === 503,
  );
});

test('a wrong API key is refused with 401 AuthenticationError', async () => {
  const wrong = new OpenAI({ apiKey: 'sk-wrong', baseURL: fake.baseUrl, maxRetries: 0 });
  await assert.rejects(
    wrong.chat.completions.create({ model: 'fake-model', messages: hello }),
    (e) => e instanceof OpenAI.AuthenticationError && e.code === 'invalid_api_key',
  );
  assert.equal((await fake.state()).pending, 0);
});

test('malformed JSON makes the SDK fail, non-stream and stream', async () => {
  await fake.script([{ kind: 'malformed' }, { kind: 'malformed' }]);
  await assert.rejects(client.chat.completions.create({ model: 'fake-model', messages: hello }));
  const stream = await client.chat.completions.create({ model: 'fake-model', messages: hello, stream: true });
  const seen = [];
  await assert.rejects(async () => {
    for await (const chunk of stream) seen.push(chunk);
  });
  assert.equal(seen.length, 1); // the valid first event, then the broken one
});

test('a dropped connection mid-stream makes the SDK fail', async () => {
  await fake.script({ kind: 'drop', text: 'a long answer cut short', chunks: 5, stall_after_chunks: 2 });
  const stream = await client.chat.completions.create({ model: 'fake-model', messages: hello, stream: true });
  const seen = [];
  await assert.rejects(async () => {
    for await (const chunk of stream) seen.push(chunk);
  });
  assert.equal(seen.length, 2);
});

test('a stalled stream hangs until the client aborts; the fake sees the connection closed', async () => {
  await fake.script({ kind: 'stall', stall_after_chunks: 2 });
  const abort = new AbortController();
  const stream = await client.chat.completions.create(
    { model: 'fake-model', messages: hello, stream: true },
    { signal: abort.signal },
  );
  const seen = [];
  // The SDK ends the iteration quietly when its request is aborted.
  for await (const chunk of stream) {
    seen.push(chunk);
    if (seen.length === 2) abort.abort();
  }
  assert.equal(seen.length, 2);
  await fake.waitClientClosed();
});

test('GET /models lists the fake model', async () => {
  const page = await client.models.list();
  assert.deepEqual(page.data.map((m) => m.id), ['fake-model']);
});
