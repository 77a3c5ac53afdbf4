/** The bare Express hello-world the API read is compared with: same Express as the service, no middleware. */
import { rootRequire } from '../lib/root-deps.mjs';

const express = rootRequire('express');
const app = express();
app.get('/hello', (_req, res) => res.json({ hello: 'world' }));
const server = app.listen(0, '127.0.0.1', () => process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
