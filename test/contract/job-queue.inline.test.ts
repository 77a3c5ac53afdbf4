import { InlineQueue } from '../../src/queue/inline-queue.js';
import { QueueClosedError, QueueFullError } from '../../src/queue/job-queue.js';
import { describeJobQueueContract } from './job-queue.contract.js';

describeJobQueueContract('inline', async () => new InlineQueue(10_000));

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
    await expect(queue.dispatch({ taskId: 'a', kind: 'text' })).rejects.toBeInstanceOf(QueueClosedError);
  });

  it('reports handler errors to its error callback', async () => {
    const errors: string[] = [];
    const queue = new InlineQueue(10, (job, err) => errors.push(`${job.taskId}: ${(err as Error).message}`));
    await queue.consume(async () => {
      throw new Error('boom');
    }, { concurrency: 1 });
    await queue.dispatch({ taskId: 'x', kind: 'text' });
    await queue.drained();
    expect(errors).toEqual(['x: boom']);
    await queue.close();
  });

  it('counts reserved places against the capacity until they are dispatched or released', async () => {
    const queue = new InlineQueue(2);
    const a = queue.reserve();
    const b = queue.reserve();
    expect(() => queue.reserve()).toThrow(QueueFullError);
    await expect(queue.dispatch({ taskId: 'x', kind: 'text' })).rejects.toBeInstanceOf(QueueFullError);
    b.release();
    b.release(); // twice gives back one place, not two
    await a.dispatch({ taskId: 'a', kind: 'text' });
    const c = queue.reserve();
    expect(() => queue.reserve()).toThrow(QueueFullError);
    c.release();
    await queue.close();
  });

  it('keeps a job whose place was reserved before close began, without running it', async () => {
    const queue = new InlineQueue(2);
    const ran: string[] = [];
    const place = queue.reserve();
    await queue.close();
    await place.dispatch({ taskId: 'kept', kind: 'text' });
    expect(queue.size).toBe(1);
    await queue.consume(async (job) => void ran.push(job.taskId), { concurrency: 1 }).catch(() => undefined);
    await new Promise((r) => setTimeout(r, 20));
    expect(ran).toEqual([]);
  });
});
