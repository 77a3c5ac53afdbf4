/**
 * Reads a batch submission: a JSON body `{"urls": [...], "kinds": [...], "refresh": …, task options}`, or an
 * NDJSON body (one `{"url": …}` per line; options in the query string) read as a stream and validated line by
 * line, stopping at the first bad line. Only the validated URLs are kept, never the raw body. Task options are
 * the single tasks' own (`format` for text; filters and `resize` for images), validated by the same rules.
 */
import readline from 'node:readline';
import type { Request } from 'express';
import { z } from 'zod';
import type { NewBatch } from '../models/batch.js';
import type { ImagesTaskOptions, TaskKind, TextFormat } from '../models/task.js';
import { crawlSchema, toCrawlSpec } from './crawl-input.js';
import { invalid, ProblemError } from './problem.js';
import { httpUrl, imageOptionFields, imagesOptionsOf, parse, resizeFormat, resizeMaxSide, textFormat } from './validation.js';
import { webhookEvents, webhookSecret, webhookSpec, type WebhookInput } from './webhook-input.js';

const KINDS = ['text', 'images'] as const;
/** Longer lines cannot hold one valid URL object. */
const MAX_LINE_CHARS = 8192;

const kinds = z
  .array(z.enum(KINDS, { error: `must be one of ${KINDS.join(', ')}` }), { error: 'must be an array' })
  .min(1, 'must name at least one kind')
  .refine((k) => new Set(k).size === k.length, 'must not repeat a kind');

const strictObject = <T extends z.ZodRawShape>(shape: T) =>
  z.strictObject(shape, { error: (i) => (i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : 'must be a JSON object') });

const jsonBatch = (maxUrls: number) => strictObject({
  urls: z.array(httpUrl, { error: (i) => (i.input === undefined ? 'is required' : 'must be an array of URLs') }).optional(),
  crawl: crawlSchema(maxUrls).optional(),
  kinds: kinds.optional().default(['text']),
  refresh: z.boolean({ error: 'must be a boolean' }).optional().default(false),
  webhook: webhookSpec.optional(),
  format: textFormat.optional(),
  ...imageOptionFields,
}).superRefine((b, ctx) => {
  // One or the other: a crawl's URL list is its own.
  if (b.crawl && b.urls) ctx.addIssue({ code: 'custom', path: ['crawl'], message: 'must not be given together with urls' });
  if (!b.crawl && !b.urls) ctx.addIssue({ code: 'custom', path: ['urls'], message: 'is required (or crawl)' });
});

/** A query parameter holding a number; anything else fails the number rule it is piped to. */
const numberParam = z.string().optional().transform((v) => (v === undefined || v.trim() === '' ? undefined : Number(v)));
const listParam = z.string().optional().transform((v) => (v === undefined ? undefined : v.split(',')));

const ndjsonQuery = z.strictObject(
  {
    kinds: z.string().optional().default('text').transform((v) => v.split(',').map((k) => k.trim())).pipe(kinds),
    refresh: z.enum(['true', 'false'], { error: 'must be true or false' }).optional().default('false').transform((v) => v === 'true'),
    // The webhook of an NDJSON batch: its URL and events here, its secret (if chosen) in a Webhook-Secret header.
    webhook_url: httpUrl.optional(),
    webhook_events: z.string().optional().transform((v) => (v ? v.split(',').map((e) => e.trim()) : undefined)).pipe(webhookEvents),
    // The JSON body's task options, flat: mime_types comma-separated, resize as resize_max_side + resize_format.
    format: textFormat.optional(),
    min_width: numberParam.pipe(imageOptionFields.min_width),
    min_height: numberParam.pipe(imageOptionFields.min_height),
    max_aspect_ratio: numberParam.pipe(imageOptionFields.max_aspect_ratio),
    mime_types: listParam.pipe(imageOptionFields.mime_types),
    resize_max_side: numberParam.pipe(resizeMaxSide.optional()),
    resize_format: resizeFormat.optional(),
  },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown parameter(s): ${i.keys.join(', ')}` : 'invalid query') },
);

const ndjsonLine = strictObject({ url: httpUrl });

const tooMany = (max: number, field: string) =>
  new ProblemError(413, 'Too many URLs', `a batch takes at most ${max} URLs`, [{ field, message: `more than ${max} URLs` }]);

const noUrls = (field: string) => invalid([{ field, message: 'must hold at least one URL' }]);

export const isNdjson = (req: Request): boolean => Boolean(req.is(['application/x-ndjson', 'application/ndjson', 'application/jsonl']));

/** A JSON body already parsed by express.json. */
/** A batch submission: the batch, and the webhook to tell about it. */
export type BatchInput = NewBatch & { webhook?: WebhookInput };

/**
 * The batch's task options. An option for a kind the batch does not have would be silently ignored, so it is
 * refused, naming the field (`imageField`: the first images option given).
 */
function taskOptions(kinds: TaskKind[], format: string | undefined, images: ImagesTaskOptions | undefined, imageField: string | undefined): Pick<NewBatch, 'format' | 'options'> {
  if (format !== undefined && !kinds.includes('text')) throw invalid([{ field: 'format', message: 'applies to text tasks: add text to kinds' }]);
  if (images && !kinds.includes('images')) throw invalid([{ field: imageField ?? 'kinds', message: 'applies to images tasks: add images to kinds' }]);
  return { ...(format !== undefined ? { format: format as TextFormat } : {}), ...(images ? { options: images } : {}) };
}

const firstGiven = (o: Record<string, unknown>, keys: readonly string[]): string | undefined => keys.find((k) => o[k] !== undefined);

export function readJsonBatch(body: unknown, maxUrls: number): BatchInput {
  // Count first: validating a million URLs only to refuse them all would be wasted work.
  const count = (body as { urls?: unknown } | null)?.urls;
  if (Array.isArray(count) && count.length > maxUrls) throw tooMany(maxUrls, 'urls');
  const b = parse(jsonBatch(maxUrls), body, 'body');
  const webhook = b.webhook ? { webhook: b.webhook as WebhookInput } : {};
  const k = b.kinds as TaskKind[];
  const options = taskOptions(k, b.format, imagesOptionsOf(b), firstGiven(b, Object.keys(imageOptionFields)));
  if (b.crawl) {
    const crawl = { ...toCrawlSpec(b.crawl), ...(options.format || options.options ? { pageOptions: options } : {}) };
    return { kinds: k, refresh: b.refresh, urls: [crawl.url], crawl, ...options, ...webhook };
  }
  const urls = b.urls ?? [];
  if (urls.length === 0) throw noUrls('urls');
  return { kinds: k, refresh: b.refresh, urls, ...options, ...webhook };
}

/** Streams the NDJSON body; throws a problem naming the first bad line (1-based). */
export async function readNdjsonBatch(req: Request, maxUrls: number): Promise<BatchInput> {
  const options = parse(ndjsonQuery, req.query, 'query');
  if (options.resize_format !== undefined && options.resize_max_side === undefined) throw invalid([{ field: 'resize_max_side', message: 'is required with resize_format' }]);
  const resize = options.resize_max_side === undefined ? undefined : { max_side: options.resize_max_side, format: options.resize_format ?? 'webp' };
  const kindOptions = taskOptions(
    options.kinds as TaskKind[], options.format, imagesOptionsOf({ ...options, resize }),
    firstGiven(options, ['min_width', 'min_height', 'max_aspect_ratio', 'mime_types', 'resize_max_side']),
  );
  const secretHeader = req.get('webhook-secret');
  if (secretHeader !== undefined && !options.webhook_url) throw invalid([{ field: 'webhook-secret', message: 'needs webhook_url' }]);
  const secret = secretHeader === undefined ? undefined : parse(webhookSecret, secretHeader, 'webhook-secret');
  const webhook: WebhookInput | undefined = options.webhook_url
    ? { url: options.webhook_url, events: options.webhook_events as WebhookInput['events'], ...(secret ? { secret } : {}) }
    : undefined;
  const urls: string[] = [];
  const lines = readline.createInterface({ input: req, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const raw of lines) {
      n++;
      const line = raw.trim();
      if (line === '') continue;
      const field = `line ${n}`;
      if (line.length > MAX_LINE_CHARS) throw invalid([{ field, message: `is longer than ${MAX_LINE_CHARS} characters` }]);
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch {
        throw invalid([{ field, message: 'is not valid JSON' }]);
      }
      const result = ndjsonLine.safeParse(value);
      if (!result.success) {
        throw invalid(result.error.issues.map((i) => ({ field, message: `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}` })));
      }
      if (urls.length >= maxUrls) throw tooMany(maxUrls, field);
      urls.push(result.data.url);
    }
  } finally {
    lines.close();
  }
  if (urls.length === 0) throw noUrls('body');
  return { kinds: options.kinds as TaskKind[], refresh: options.refresh, urls, ...kindOptions, ...(webhook ? { webhook } : {}) };
}
