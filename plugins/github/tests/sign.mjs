// github/tests/sign.mjs — prints `sha256=<hex>` of a file's bytes under a secret, computed by
// GitHub's own signing code (@octokit/webhooks-methods). The C++ tests (github_support.h) sign
// every webhook body with it; node resolves the package from the repository's node_modules.
//   node sign.mjs SECRET_FILE BODY_FILE
import fs from 'node:fs';
import { sign, verify } from '@octokit/webhooks-methods';

const secret = fs.readFileSync(process.argv[2], 'utf8');
const body = fs.readFileSync(process.argv[3], 'utf8');
const signature = await sign(secret, body);
if (!(await verify(secret, body, signature))) throw new Error('verify() refused sign()');
process.stdout.write(signature);
