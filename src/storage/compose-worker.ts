/** The worker thread of the volume's composer: FileComposer's blocking reads and writes, off the event loop. */
import { parentPort } from 'node:worker_threads';
import { FileComposer, type ComposeRequest } from './file-composer.js';

const composer = new FileComposer();
parentPort?.on('message', (req: ComposeRequest) => {
  const reply = composer.handle(req);
  if (reply) parentPort?.postMessage(reply);
});
