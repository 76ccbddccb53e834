-- bench/github.lua — wrk script for bench/github.sh: POSTs one signed GitHub `pull_request`
-- delivery (the body and its X-Hub-Signature-256 come from the environment: GITHUB_BENCH_BODY
-- names the body file, GITHUB_BENCH_SIGNATURE is `sha256=<hex>` of it) with a fresh
-- X-GitHub-Delivery per request — thread number + counter — so no request is a replay. The
-- signature covers the body only, so one signature serves every request.
local body_file = os.getenv("GITHUB_BENCH_BODY")
local signature = os.getenv("GITHUB_BENCH_SIGNATURE")
local run = os.getenv("GITHUB_BENCH_RUN") or "run"
local f = assert(io.open(body_file, "rb"))
local body = f:read("*a")
f:close()

local threads = {}
local next_id = 0

function setup(thread)
  next_id = next_id + 1
  thread:set("tid", next_id)
  table.insert(threads, thread)
end

local counter = 0
local statuses = {}

function init(args)
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-GitHub-Event"] = os.getenv("GITHUB_BENCH_EVENT") or "pull_request"
  wrk.headers["X-Hub-Signature-256"] = signature
  wrk.headers["User-Agent"] = "GitHub-Hookshot/bench"
end

function request()
  counter = counter + 1
  wrk.headers["X-GitHub-Delivery"] = string.format("%s-%d-%d", run, tid, counter)
  return wrk.format()
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  -- wrk runs done() in the main state; per-thread counters are read back with get().
  io.write(string.format("requests: %d, non-2xx/3xx: %d, socket errors: connect %d read %d write %d timeout %d\n",
    summary.requests, summary.errors.status, summary.errors.connect, summary.errors.read,
    summary.errors.write, summary.errors.timeout))
  for _, p in ipairs({50, 90, 99}) do
    io.write(string.format("latency p%d: %.2f ms\n", p, latency:percentile(p) / 1000))
  end
end
