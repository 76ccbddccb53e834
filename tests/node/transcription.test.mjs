// jarvis-fake-transcription (the whatsapp plugin's faster_whisper backend's counterpart),
// checked with OpenAI's official Node client: if the fake's multipart handling, JSON answers or
// error bodies drifted from OpenAI's /v1/audio/transcriptions, the SDK would fail here.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import OpenAI, { toFile } from 'openai';

import { spawnFake } from './spawn_fake.mjs';

async function start(args) {
  const { root, stop } = await spawnFake('transcription', args);
  return {
    root,
    requests: async () => (await (await fetch(`${root}/_fake/requests`)).json()).requests,
    fail: async (statuses) =>
      fetch(`${root}/_fake/fail`, { method: 'POST', body: JSON.stringify(statuses) }),
    stop,
  };
}

// An OGG page header is enough for the fake (it never decodes audio).
const ogg = Buffer.concat([Buffer.from('OggS'), Buffer.alloc(60, 1)]);

let fake;
let client;
beforeEach(async () => {
  fake = await start(['--api-key', 'sk-whisper', '--text', 'go forward ten meters']);
  client = new OpenAI({ apiKey: 'sk-whisper', baseURL: `${fake.root}/v1`, maxRetries: 0 });
});
afterEach(async () => fake.stop());

test('json transcription: text back, model, language and the file as multipart', async () => {
  const r = await client.audio.transcriptions.create({
    file: await toFile(ogg, 'voice.ogg', { type: 'audio/ogg' }),
    model: 'whisper-1',
    language: 'en',
  });
  assert.equal(r.text, 'go forward ten meters');
  const [sent] = await fake.requests();
  assert.equal(sent.fields.model, 'whisper-1');
  assert.equal(sent.fields.language, 'en');
  assert.equal(sent.file_name, 'voice.ogg');
  assert.equal(sent.file_size, ogg.length);
  assert.equal(sent.authorization, 'Bearer sk-whisper');
});

test('response_format text answers the bare transcript; verbose_json has segments', async () => {
  const text = await client.audio.transcriptions.create({
    file: await toFile(ogg, 'voice.ogg'),
    model: 'base',
    response_format: 'text',
  });
  assert.equal(String(text).trim(), 'go forward ten meters');
  const verbose = await client.audio.transcriptions.create({
    file: await toFile(ogg, 'voice.ogg'),
    model: 'base',
    response_format: 'verbose_json',
  });
  assert.equal(verbose.text, 'go forward ten meters');
  assert.equal(verbose.segments[0].text, 'go forward ten meters');
});

test('a wrong key is an AuthenticationError; a bad format a BadRequestError; 5xx a server error', async () => {
  const wrong = new OpenAI({ apiKey: 'nope', baseURL: `${fake.root}/v1`, maxRetries: 0 });
  await assert.rejects(
    wrong.audio.transcriptions.create({ file: await toFile(ogg, 'voice.ogg'), model: 'whisper-1' }),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401 && e.code === 'invalid_api_key',
  );
  await assert.rejects(
    client.audio.transcriptions.create({ file: await toFile(ogg, 'voice.exe'), model: 'whisper-1' }),
    (e) => e instanceof OpenAI.BadRequestError && /Invalid file format/.test(e.message),
  );
  await fake.fail([500]);
  await assert.rejects(
    client.audio.transcriptions.create({ file: await toFile(ogg, 'voice.ogg'), model: 'whisper-1' }),
    (e) => e instanceof OpenAI.InternalServerError && e.status === 500,
  );
});
