// jarvis-fake-github checked with GitHub's official REST client (@octokit/rest): if the fake
// drifted from the real API's shapes — pagination by Link header, error bodies, rate-limit
// headers — Octokit's paginate() and its RequestError would not work against it.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, test } from 'node:test';
import { Octokit } from '@octokit/rest';

import { startFakeGitHub } from './fake_github.mjs';

const owner = 'octo';
const repo = 'hello';
let gh;
let octokit;
beforeEach(async () => {
  gh = await startFakeGitHub({ token: 'ghp_test' });
  octokit = new Octokit({ auth: 'ghp_test', baseUrl: gh.baseUrl, request: { retries: 0 } });
});
afterEach(async () => gh.stop());

test('a pull request and all 3,000 of its files through paginate() (Link rel="next")', async () => {
  await gh.control('POST', '/_fake/pulls', {
    repo: `${owner}/${repo}`,
    pull: { number: 7, title: 'Big change', base: { ref: 'dev' } },
    file_count: 3000,
  });
  const { data: pr, headers } = await octokit.rest.pulls.get({ owner, repo, pull_number: 7 });
  assert.equal(pr.number, 7);
  assert.equal(pr.base.ref, 'dev');
  assert.equal(pr.changed_files, 3000);
  assert.ok(Number(headers['x-ratelimit-remaining']) < 5000);
  assert.equal(headers['x-ratelimit-limit'], '5000');
  const files = await octokit.paginate(octokit.rest.pulls.listFiles, {
    owner,
    repo,
    pull_number: 7,
    per_page: 100,
  });
  assert.equal(files.length, 3000);
  assert.equal(new Set(files.map((f) => f.filename)).size, 3000);
  assert.equal(files.at(-1).status, 'removed');
  const sent = await gh.control('GET', '/_fake/requests');
  const pages = sent.filter((r) => r.path.endsWith('/files'));
  assert.equal(pages.length, 30);
  assert.equal(sent[0].headers.authorization, 'token ghp_test');
  assert.match(sent[0].headers.accept, /application\/vnd\.github/);
});

test('issue comments: create, edit, list (paginated), and editing an unknown comment is a 404', async () => {
  await gh.control('POST', '/_fake/pulls', { repo: `${owner}/${repo}`, pull: { number: 3 }, file_count: 2 });
  const { data: made, status } = await octokit.rest.issues.createComment({
    owner,
    repo,
    issue_number: 3,
    body: '<!-- jarvis:pr-summary -->\nfirst',
  });
  assert.equal(status, 201);
  assert.equal(made.user.login, 'jarvis-bot');
  const { data: edited } = await octokit.rest.issues.updateComment({
    owner,
    repo,
    comment_id: made.id,
    body: '<!-- jarvis:pr-summary -->\nsecond',
  });
  assert.equal(edited.body, '<!-- jarvis:pr-summary -->\nsecond');
  for (let i = 0; i < 140; i++) {
    await octokit.rest.issues.createComment({ owner, repo, issue_number: 3, body: `c${i}` });
  }
  const all = await octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number: 3, per_page: 100 });
  assert.equal(all.length, 141);
  assert.equal(all[0].id, made.id);
  await assert.rejects(
    octokit.rest.issues.updateComment({ owner, repo, comment_id: 999999, body: 'x' }),
    (e) => e.status === 404,
  );
});

test('issues: create with labels, list newest first, search by a phrase of the body', async () => {
  const { data: a } = await octokit.rest.issues.create({
    owner,
    repo,
    title: 'First',
    body: 'text <!-- jarvis:bug-report:bug_1 -->',
    labels: ['jarvis', 'bug'],
  });
  const { data: b } = await octokit.rest.issues.create({ owner, repo, title: 'Second', body: 'other' });
  assert.equal(a.number, 1);
  assert.equal(b.number, 2);
  assert.deepEqual(a.labels.map((l) => l.name), ['jarvis', 'bug']);
  assert.equal(a.html_url, `https://github.com/${owner}/${repo}/issues/1`);
  const { data: list } = await octokit.rest.issues.listForRepo({ owner, repo, state: 'all', sort: 'created', direction: 'desc' });
  assert.deepEqual(list.map((i) => i.number), [2, 1]);
  const { data: found } = await octokit.rest.search.issuesAndPullRequests({
    q: `"jarvis:bug-report:bug_1" repo:${owner}/${repo} in:body is:issue`,
  });
  assert.equal(found.total_count, 1);
  assert.equal(found.items[0].number, 1);
  await assert.rejects(octokit.rest.issues.create({ owner, repo, title: '' }), (e) => e.status === 422);
});

test('collaborator permission levels, and bad credentials are a 401', async () => {
  await gh.control('POST', '/_fake/permissions', { repo: `${owner}/${repo}`, login: 'alice', permission: 'write' });
  await gh.control('POST', '/_fake/permissions', { repo: `${owner}/${repo}`, login: 'mona', permission: 'maintain' });
  const alice = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username: 'alice' });
  assert.equal(alice.data.permission, 'write');
  const mona = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username: 'mona' });
  assert.equal(mona.data.permission, 'write');
  assert.equal(mona.data.role_name, 'maintain');
  const eve = await octokit.rest.repos.getCollaboratorPermissionLevel({ owner, repo, username: 'eve' });
  assert.equal(eve.data.permission, 'none');
  const stranger = new Octokit({ auth: 'wrong', baseUrl: gh.baseUrl, request: { retries: 0 } });
  await assert.rejects(stranger.rest.rateLimit.get(), (e) => e.status === 401 && /Bad credentials/.test(e.message));
});

test('rate limits: /rate_limit, a primary exhaustion and a secondary limit with Retry-After', async () => {
  const { data: rl } = await octokit.rest.rateLimit.get();
  assert.equal(rl.resources.core.limit, 5000);
  const reset = Math.floor(Date.now() / 1000) + 120;
  await gh.control('POST', '/_fake/rate', { remaining: 0, reset });
  await assert.rejects(octokit.rest.rateLimit.get(), (e) => {
    assert.equal(e.status, 403);
    assert.equal(e.response.headers['x-ratelimit-remaining'], '0');
    assert.equal(e.response.headers['x-ratelimit-reset'], String(reset));
    assert.match(e.message, /rate limit exceeded/);
    return true;
  });
  await gh.control('POST', '/_fake/rate', { remaining: 10 });
  await gh.control('POST', '/_fake/secondary', { times: 1, retry_after: 7 });
  await assert.rejects(octokit.rest.rateLimit.get(), (e) => {
    assert.equal(e.status, 403);
    assert.equal(e.response.headers['retry-after'], '7');
    assert.match(e.message, /secondary rate limit/);
    return true;
  });
  const after = await octokit.rest.rateLimit.get();
  assert.equal(after.status, 200);
});
