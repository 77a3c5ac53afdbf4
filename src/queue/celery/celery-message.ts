/**
 * Celery message protocol v2 on AMQP, as Python Celery 5 and celery-node write it
 * (https://docs.celeryq.dev/en/stable/internals/protocol.html): the task name and id travel in
 * the AMQP headers, the body is JSON `[args, kwargs, embed]`. Protocol v1 bodies
 * (`{task, id, args, kwargs}`, older clients and celery-node's TASK_PROTOCOL 1) are read too.
 */
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { Options } from 'amqplib';
import type { TaskKind } from '../../models/task.js';
import type { Job } from '../job-queue.js';

export const TASK_NAMES: Readonly<Record<TaskKind, string>> = { text: 'scrape.text', images: 'scrape.images' };
const KIND_BY_TASK_NAME = new Map<string, TaskKind>(
  (Object.entries(TASK_NAMES) as Array<[TaskKind, string]>).map(([kind, name]) => [name, kind]),
);

/** Durable, no arguments: what celery-node and kombu declare by default, so neither side gets PRECONDITION_FAILED. */
export const QUEUE_OPTIONS: Options.AssertQueue = { durable: true, autoDelete: false, exclusive: false };

/** Where the service moves jobs it gave up on, and malformed messages (declared by every producer and consumer). */
export const deadLetterQueueName = (queue: string): string => `${queue}.dead`;

/** The task ids of a job's page-mates (Job.siblings); Celery keeps unknown headers, so Python peers are unaffected. */
export const SIBLINGS_HEADER = 'x-scrapeds-siblings';
const MAX_SIBLINGS = 16;

/** Set by the dead-letter replay (dead-letters.ts) on the copy it sends back to the work queue. */
export const REPLAYED_HEADER = 'x-scrapeds-replayed';

const ORIGIN = `${process.pid}@${os.hostname()}`;
const MAX_TASK_ID_LENGTH = 200;

export interface EncodedTask {
  celeryId: string;
  content: Buffer;
  options: Options.Publish;
}

/** One message per dispatch, each with its own Celery id; our task id is the single argument. */
export function encodeCeleryTask(job: Job): EncodedTask {
  const celeryId = randomUUID();
  const args = [job.taskId];
  const headers = {
    lang: 'js',
    task: TASK_NAMES[job.kind],
    id: celeryId,
    shadow: null,
    eta: null,
    expires: null,
    group: null,
    group_index: null,
    retries: 0,
    timelimit: [null, null],
    root_id: celeryId,
    parent_id: null,
    argsrepr: JSON.stringify(args),
    kwargsrepr: '{}',
    origin: ORIGIN,
    ignore_result: true,
    ...(job.siblings?.length ? { [SIBLINGS_HEADER]: [...job.siblings] } : {}),
  };
  const body = [args, {}, { callbacks: null, errbacks: null, chain: null, chord: null }];
  return {
    celeryId,
    content: Buffer.from(JSON.stringify(body), 'utf8'),
    options: {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      persistent: true,
      correlationId: celeryId,
      headers,
    },
  };
}

export type DecodedTask =
  | { ok: true; job: Job; celeryId: string; taskName: string }
  | { ok: false; reason: string; taskName?: string };

/** The parts of an amqplib message we read (kept structural so tests can hand in plain objects). */
export interface RawMessage {
  content: Buffer;
  properties: { contentType?: unknown; contentEncoding?: unknown; headers?: Record<string, unknown> };
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Never throws: a message we cannot run is reported with a reason, to be rejected without requeue. */
export function decodeCeleryTask(msg: RawMessage): DecodedTask {
  const { contentType, contentEncoding } = msg.properties;
  if (contentType !== 'application/json') return { ok: false, reason: `unsupported content type ${String(contentType)}` };
  if (contentEncoding !== undefined && contentEncoding !== 'utf-8' && contentEncoding !== 'utf8') {
    return { ok: false, reason: `unsupported content encoding ${String(contentEncoding)}` };
  }
  let body: unknown;
  try {
    body = JSON.parse(msg.content.toString('utf8'));
  } catch {
    return { ok: false, reason: 'body is not valid JSON' };
  }

  const headers = msg.properties.headers ?? {};
  let taskName: unknown;
  let celeryId: unknown;
  let args: unknown;
  let kwargs: unknown;
  if (headers.task !== undefined) {
    taskName = headers.task;
    celeryId = headers.id;
    if (!Array.isArray(body)) return { ok: false, reason: 'protocol v2 body must be [args, kwargs, embed]', taskName: String(taskName) };
    [args, kwargs] = body as unknown[];
  } else if (isRecord(body)) {
    ({ task: taskName, id: celeryId, args, kwargs } = body);
  } else {
    return { ok: false, reason: 'no task name (neither a protocol v2 header nor a v1 body)' };
  }

  if (typeof taskName !== 'string') return { ok: false, reason: 'task name is not a string' };
  const kind = KIND_BY_TASK_NAME.get(taskName);
  if (!kind) return { ok: false, reason: `unknown task ${taskName}`, taskName };
  args ??= [];
  kwargs ??= {};
  if (!Array.isArray(args) || !isRecord(kwargs)) return { ok: false, reason: 'args must be a list and kwargs an object', taskName };

  // `send_task(name, args=[task_id])`; `kwargs={'task_id': ...}` is accepted too.
  const taskId: unknown = args.length === 0 ? kwargs.task_id : args.length === 1 ? args[0] : undefined;
  if (!isTaskId(taskId)) {
    return { ok: false, reason: 'expected exactly one argument: the task id (a non-empty string)', taskName };
  }
  const job: Job = { taskId, kind };
  if (headers[REPLAYED_HEADER] !== undefined) job.replayed = true;
  const siblings = siblingsOf(headers[SIBLINGS_HEADER], taskId);
  if (siblings.length) job.siblings = siblings;
  return { ok: true, job, celeryId: typeof celeryId === 'string' ? celeryId : '', taskName };
}

/** Page-mate ids from the header: well-formed ids only, never the job's own, at most MAX_SIBLINGS (a hint, not a command). */
function siblingsOf(value: unknown, taskId: string): string[] {
  if (!Array.isArray(value)) return [];
  return value.filter((id): id is string => isTaskId(id) && id !== taskId).slice(0, MAX_SIBLINGS);
}

const isTaskId = (v: unknown): v is string => typeof v === 'string' && v.length > 0 && v.length <= MAX_TASK_ID_LENGTH && !/\p{Cc}/u.test(v);

/** Celery's `retries` header: how many runs of this message threw before (0 when absent or not a count). */
export function retriesOf(msg: RawMessage): number {
  const retries = msg.properties.headers?.retries;
  return typeof retries === 'number' && Number.isInteger(retries) && retries >= 0 ? retries : 0;
}
