// The anthropic dialect of jarvis-fake-llm, checked with Anthropic's official Node client
// (`@anthropic-ai/sdk`): the Messages API, its event stream and its error bodies.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import Anthropic from '@anthropic-ai/sdk';

import { startFake } from './fake_llm.mjs';

let fake;
let client;
beforeEach(async () => {
  fake = await startFake('anthropic', { apiKey: 'sk-ant-test' });
  client = new Anthropic({ apiKey: 'sk-ant-test', baseURL: fake.baseUrl, maxRetries: 0 });
});
afterEach(async () => fake.stop());

const ask = { model: 'claude-fake', max_tokens: 256, messages: [{ role: 'user', content: 'hello' }] };

test('non-stream message: default echo reply, usage, the API key and anthropic-version arriving', async () => {
  const m = await client.messages.create(ask);
  assert.equal(m.type, 'message');
  assert.equal(m.role, 'assistant');
  assert.deepEqual(m.content, [{ type: 'text', text: 'echo: hello' }]);
  assert.equal(m.stop_reason, 'end_turn');
  assert.equal(m.usage.input_tokens, 10);
  assert.equal(m.usage.output_tokens, 5);
  const [sent] = await fake.requests();
  assert.equal(sent.path, '/v1/messages');
  // The 1.x client (API version 2026-10-21) sends the key as a bearer token; the 0.x client's
  // x-api-key is checked below.
  assert.equal(sent.headers.authorization, 'Bearer sk-ant-test');
  assert.equal(sent.headers['anthropic-version'], '2026-10-21');
  assert.equal(sent.json.max_tokens, 256);
});

test('streamed text and thinking: events in order, deltas as scripted, finalMessage', async () => {
  await fake.script({ kind: 'text', text: 'The answer is 42.', reasoning: 'Let me think.', chunks: 3, output_tokens: 9 });
  const stream = client.messages.stream(ask);
  const types = [];
  const text = [];
  let thinking = '';
  stream.on('streamEvent', (e) => types.push(e.type));
  stream.on('text', (delta) => text.push(delta));
  stream.on('thinking', (delta) => (thinking += delta));
  const final = await stream.finalMessage();
  assert.equal(text.join(''), 'The answer is 42.');
  assert.equal(text.length, 3);
  assert.equal(thinking, 'Let me think.');
  assert.equal(final.content[0].type, 'thinking');
  assert.equal(final.content[0].signature, 'fake-signature');
  assert.equal(final.content[1].text, 'The answer is 42.');
  assert.equal(final.stop_reason, 'end_turn');
  assert.equal(final.usage.output_tokens, 9);
  assert.equal(types[0], 'message_start');
  assert.equal(types.at(-1), 'message_stop');
  assert.ok(types.includes('content_block_start') && types.includes('message_delta'));
});

test('streamed tool_use blocks: input_json_delta fragments reassembled into input', async () => {
  await fake.script({
    kind: 'tool_calls',
    text: 'Checking.',
    chunks: 4,
    tool_calls: [
      { id: 'toolu_1', name: 'memory_search', arguments: { query: 'cats', limit: 3 } },
      { id: 'toolu_2', name: 'get_weather', arguments: { city: 'Zürich' } },
    ],
  });
  const tools = [
    { name: 'memory_search', input_schema: { type: 'object' } },
    { name: 'get_weather', input_schema: { type: 'object' } },
  ];
  const final = await client.messages.stream({ ...ask, tools }).finalMessage();
  assert.equal(final.stop_reason, 'tool_use');
  const uses = final.content.filter((b) => b.type === 'tool_use');
  assert.deepEqual(
    uses.map((u) => [u.id, u.name, u.input]),
    [
      ['toolu_1', 'memory_search', { query: 'cats', limit: 3 }],
      ['toolu_2', 'get_weather', { city: 'Zürich' }],
    ],
  );
  assert.equal(final.content[0].text, 'Checking.');
  const [sent] = await fake.requests();
  assert.deepEqual(sent.json.tools, tools);
  assert.equal(sent.json.stream, true);
});

test('tool_result must answer the previous tool_use, as the real API requires', async () => {
  await fake.script({ kind: 'tool_calls', tool_calls: [{ id: 'toolu_9', name: 'add', arguments: { a: 1 } }] });
  const first = await client.messages.create(ask);
  assert.deepEqual(first.content[0], { type: 'tool_use', id: 'toolu_9', name: 'add', input: { a: 1 } });
  const answer = { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: '2' }] };
  const next = await client.messages.create({ ...ask, messages: [...ask.messages, { role: 'assistant', content: first.content }, answer] });
  assert.equal(next.content[0].text, 'echo: hello');
  const orphan = { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_x', content: '2' }] };
  await assert.rejects(
    client.messages.create({ ...ask, messages: [...ask.messages, { role: 'assistant', content: 'ok' }, orphan] }),
    (e) => e instanceof Anthropic.BadRequestError && e.error.error.type === 'invalid_request_error',
  );
});

test('429 with Retry-After surfaces as RateLimitError with the Anthropic error body', async () => {
  await fake.script({ kind: 'http_error', status: 429, retry_after: '3' });
  await assert.rejects(client.messages.create(ask), (e) => {
    assert.ok(e instanceof Anthropic.RateLimitError, String(e));
    assert.equal(e.status, 429);
    assert.equal(e.headers.get('retry-after'), '3');
    assert.equal(e.error.type, 'error');
    assert.equal(e.error.error.type, 'rate_limit_error');
    assert.ok(e.requestID.startsWith('req_'));
    return true;
  });
});

test('500 and 529 surface as InternalServerError (api_error, overloaded_error)', async () => {
  await fake.script([{ kind: 'http_error', status: 500 }, { kind: 'http_error', status: 529 }]);
  await assert.rejects(
    client.messages.create(ask),
    (e) => e instanceof Anthropic.InternalServerError && e.status === 500 && e.error.error.type === 'api_error',
  );
  await assert.rejects(
    client.messages.stream(ask).finalMessage(),
    (e) => e instanceof Anthropic.InternalServerError && e.status === 529 && e.error.error.type === 'overloaded_error',
  );
});

test('a wrong API key is refused with 401 AuthenticationError', async () => {
  const wrong = new Anthropic({ apiKey: 'sk-ant-wrong', baseURL: fake.baseUrl, maxRetries: 0 });
  await assert.rejects(wrong.messages.create(ask), (e) => e instanceof Anthropic.AuthenticationError);
});

test('a request without max_tokens is refused with 400', async () => {
  const { max_tokens: _, ...without } = ask;
  await assert.rejects(
    client.messages.create(without),
    (e) => e instanceof Anthropic.BadRequestError && /max_tokens/.test(e.message),
  );
});

test('malformed JSON makes the SDK fail, non-stream and stream', async () => {
  await fake.script([{ kind: 'malformed' }, { kind: 'malformed' }]);
  await assert.rejects(client.messages.create(ask));
  await assert.rejects(client.messages.stream(ask).finalMessage());
});

test('a dropped connection mid-stream makes the SDK fail', async () => {
  await fake.script({ kind: 'drop', text: 'cut short', stall_after_chunks: 3 });
  await assert.rejects(client.messages.stream(ask).finalMessage());
});

test('a stalled stream hangs until the client aborts; the fake sees the connection closed', async () => {
  await fake.script({ kind: 'stall', stall_after_chunks: 3 });
  const stream = client.messages.stream(ask);
  stream.on('streamEvent', (e) => {
    if (e.type === 'content_block_start') stream.abort();
  });
  await assert.rejects(stream.finalMessage(), Anthropic.APIUserAbortError);
  await fake.waitClientClosed();
});

test('the 0.x client (API version 2023-06-01, x-api-key) streams a tool call too', async () => {
  const { default: Anthropic0 } = await import('anthropic-sdk-0');
  const old = new Anthropic0({ apiKey: 'sk-ant-test', baseURL: fake.baseUrl, maxRetries: 0 });
  await fake.script({ kind: 'tool_calls', tool_calls: [{ id: 'toolu_7', name: 'add', arguments: { a: 1, b: 2 } }] });
  const final = await old.messages.stream(ask).finalMessage();
  assert.deepEqual(final.content[0], { type: 'tool_use', id: 'toolu_7', name: 'add', input: { a: 1, b: 2 } });
  const plain = await old.messages.create(ask);
  assert.equal(plain.content[0].text, 'echo: hello');
  const [sent] = await fake.requests();
  assert.equal(sent.headers['x-api-key'], 'sk-ant-test');
  assert.equal(sent.headers['anthropic-version'], '2023-06-01');
});
