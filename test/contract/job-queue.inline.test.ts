import { InlineQueue } from '../../src/queue/inline-queue.js';
import { QueueFullError } from '../../src/queue/job-queue.js';
import { FAST_RETRY, describeJobQueueContract } from './job-queue.contract.js';

describeJobQueueContract('inline', async (retry = FAST_RETRY) => new InlineQueue(10_000, () => {}, retry));

describe('InlineQueue', () => {
  it('is bounded: dispatch past the capacity throws QueueFullError', async () => {
    const queue = new InlineQueue(2);
    await queue.dispatch({ taskId: 'a', kind: 'text' });
    await queue.dispatch({ taskId: 'b', kind: 'text' });
    await expect(queue.dispatch({ taskId: 'c', kind: 'text' })).rejects.toBeInstanceOf(QueueFullError);
    await queue.close();
  });

  it('refuses dispatch after close', async () => {
    const queue = new InlineQueue(2);
    await queue.close();
    await expect(queue.dispatch({ taskId: 'a', kind: 'text' })).rejects.toThrow('closed');
  });

  it('reports handler errors to its error callback', async () => {
    const errors: string[] = [];
    const queue = new InlineQueue(10, (job, err) => errors.push(`${job.taskId}: ${(err as Error).message}`), FAST_RETRY);
    await queue.consume(async () => {
      throw new Error('boom');
    }, { concurrency: 1 });
    await queue.dispatch({ taskId: 'x', kind: 'text' });
    await queue.drained();
    expect(errors).toEqual(['x: boom', 'x: boom', 'x: boom']);
    await queue.close();
  });
});
