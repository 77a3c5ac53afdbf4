/** The batch and export part of the OpenAPI document (spread into openapi.ts). Keep in step with batches-router and exports-router. */

import { imageOptionProperties, textFormatProperty } from './openapi-task-options.js';
import { ndjsonWebhookParams } from './openapi-webhooks.js';

const problem = { $ref: '#/components/responses/Problem' };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: unknown) => ({ 'application/json': { schema } });
const page = (items: unknown) => ({ type: 'object', properties: { items: { type: 'array', items }, next_cursor: { type: ['string', 'null'] } } });
const limit = { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } };
const cursor = { name: 'cursor', in: 'query', schema: { type: 'string' } };

export const batchPaths = {
  '/batches': {
    post: {
      summary: 'Submit many URLs (one task per URL and kind), or start a crawl',
      description: 'JSON `{"urls": [...], "kinds": [...], "refresh": false, …task options}`, or an NDJSON body (one `{"url": …}` a line, read as a stream, options in the query string). A bad line is named in `errors[].field` as `line N`; nothing is written then. Up to BATCH_MAX_URLS URLs (413 beyond).\n\n'
        + 'A crawl: JSON `{"crawl": {"url": …, "max_pages": …, …}, "kinds": [...]}` (not with `urls`): a batch whose URL list grows from the start URL as its pages are fetched (links, and sitemaps once the start page is done); it completes when no page is left to fetch. '
        + 'Standalone, tasks beyond the in-process queue wait in the store and are fed as room frees (no 503 for size).',
      parameters: [
        { name: 'kinds', in: 'query', description: 'NDJSON only: comma-separated kinds', schema: { type: 'string', default: 'text' } },
        { name: 'refresh', in: 'query', description: 'NDJSON only', schema: { type: 'string', enum: ['true', 'false'] } },
        { name: 'format', in: 'query', description: 'NDJSON only: the text tasks\' format', schema: { type: 'string', enum: ['text', 'main', 'markdown'] } },
        ...(['min_width', 'min_height', 'max_aspect_ratio'] as const).map((name) => ({ name, in: 'query', description: 'NDJSON only: the images tasks\' filter', schema: imageOptionProperties[name] })),
        { name: 'mime_types', in: 'query', description: 'NDJSON only: comma-separated allowed image types', schema: { type: 'string' } },
        { name: 'resize_max_side', in: 'query', description: 'NDJSON only: `resize.max_side`', schema: imageOptionProperties.resize.properties.max_side },
        { name: 'resize_format', in: 'query', description: 'NDJSON only: `resize.format` (needs resize_max_side)', schema: imageOptionProperties.resize.properties.format },
        ...ndjsonWebhookParams,
      ],
      requestBody: {
        required: true,
        content: {
          ...json(ref('NewBatch')),
          'application/x-ndjson': { schema: { type: 'string', description: 'one {"url": "https://…"} per line' } },
        },
      },
      responses: { '202': { description: 'Accepted', headers: { Location: { schema: { type: 'string' } } }, content: json(ref('Batch')) }, '400': problem, '413': problem, '415': problem, '503': problem },
    },
    get: { summary: 'List batches, newest first', parameters: [limit, cursor], responses: { '200': { description: 'A page', content: json(page(ref('Batch'))) }, '400': problem } },
  },
  '/batches/{id}': {
    get: { summary: 'A batch: counts by status, progress, rates, times', parameters: [idParam], responses: { '200': { description: 'The batch', content: json(ref('Batch')) }, '404': problem } },
    delete: {
      summary: 'Cancel what has not started (queued tasks fail with error code `cancelled`)',
      parameters: [idParam],
      responses: { '200': { description: 'Cancelled', content: json({ type: 'object', properties: { cancelled: { type: 'integer' }, batch: ref('Batch') } }) }, '404': problem, '409': problem },
    },
  },
  '/batches/{id}/tasks': {
    get: {
      summary: "The batch's tasks in submission order",
      parameters: [idParam, { name: 'status', in: 'query', schema: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed', 'finished'] } }, limit, cursor],
      responses: { '200': { description: 'A page of tasks', content: json(page({ type: 'object' })) }, '400': problem, '404': problem },
    },
  },
  '/batches/{id}/results': {
    get: {
      summary: 'NDJSON: one record per finished task, in submission order',
      description: 'Each record is the task with its `text` (text tasks) or `images` (file URLs, sha256, metadata), and a `cursor`: pass it back to resume after that record.',
      parameters: [idParam, cursor],
      responses: { '200': { description: 'application/x-ndjson', content: { 'application/x-ndjson': { schema: ref('ResultRecord') } } }, '400': problem, '404': problem },
    },
  },
  '/batches/{id}/retry': {
    post: { summary: 'Re-queue the failed tasks (not the cancelled ones)', parameters: [idParam], responses: { '202': { description: 'Re-queued', content: json({ type: 'object', properties: { retried: { type: 'integer' }, batch: ref('Batch') } }) }, '404': problem, '503': problem } },
  },
  '/batches/{id}/exports': {
    post: {
      summary: 'Export a finished batch as dataset shards into the file store',
      parameters: [idParam],
      requestBody: { required: true, content: json(ref('NewExport')) },
      responses: { '202': { description: 'Started; poll the Location', headers: { Location: { schema: { type: 'string' } } }, content: json(ref('Export')) }, '400': problem, '404': problem, '409': problem, '415': problem },
    },
  },
  '/exports/{id}': {
    get: { summary: 'An export: its shards (URL, records, bytes, sha256) and manifest', parameters: [idParam], responses: { '200': { description: 'The export', content: json(ref('Export')) }, '404': problem } },
  },
};

const counts = { type: 'object', properties: Object.fromEntries(['queued', 'running', 'succeeded', 'failed', 'finished'].map((k) => [k, { type: 'integer' }])) };

export const batchSchemas = {
  NewBatch: {
    type: 'object', additionalProperties: false,
    description: 'Exactly one of `urls` and `crawl`. Task options are those of single tasks (NewTextTask, NewImagesTask), given to every task of their kind (of a crawl: every page it admits); an option for a kind not in `kinds` is refused.',
    properties: {
      urls: { type: 'array', minItems: 1, items: { type: 'string', format: 'uri', maxLength: 2048 } },
      crawl: ref('NewCrawl'),
      kinds: { type: 'array', items: { type: 'string', enum: ['text', 'images'] }, default: ['text'] },
      refresh: { type: 'boolean', default: false },
      webhook: ref('Webhook'),
      format: { ...textFormatProperty, description: `for the text tasks (refused without text in kinds); ${textFormatProperty.description}` },
      ...imageOptionProperties,
    },
  },
  NewCrawl: {
    type: 'object', required: ['url'], additionalProperties: false,
    properties: {
      url: { type: 'string', format: 'uri', maxLength: 2048, description: 'the start URL (depth 0); normalised' },
      max_pages: { type: 'integer', minimum: 1, default: 1000, description: 'pages admitted at most, the start URL included; exact (never exceeded, also with many workers). At most BATCH_MAX_URLS' },
      max_depth: { type: 'integer', minimum: 0, maximum: 100, default: 10, description: 'links away from the start URL at most; sitemap URLs are seeds (depth 0)' },
      include: { type: 'array', maxItems: 50, items: { type: 'string', maxLength: 500 }, description: 'follow only URLs matching one of these (none: all). `/regex/flags` (flags i, u) is a regular expression in RE2 syntax (no backreferences or lookaround; matching is linear in the URL) searched in the whole normalised URL; anything else a glob over the whole URL: `**` any characters, `*` any but `/`, `?` one but `/`' },
      exclude: { type: 'array', maxItems: 50, items: { type: 'string', maxLength: 500 }, description: 'never follow URLs matching one of these (same syntax)' },
      sitemaps: { type: 'boolean', default: true, description: 'read robots.txt `Sitemap:` lines and /sitemap.xml (indexes and gzipped sitemaps followed) once the start page is done' },
      same_site: { type: 'boolean', default: true, description: 'only the start URL\'s host (a leading `www.` ignored)' },
      strip_tracking_params: { type: 'boolean', default: false, description: 'drop utm_*, gclid, fbclid, msclkid and other common tracking parameters when normalising' },
    },
  },
  Batch: {
    type: 'object',
    properties: {
      id: { type: 'string' }, status: { type: 'string', enum: ['running', 'completed', 'cancelled'] },
      kinds: { type: 'array', items: { type: 'string' } }, refresh: { type: 'boolean' }, url_count: { type: 'integer' }, task_count: { type: 'integer' },
      counts, progress: { type: 'number', minimum: 0, maximum: 1 },
      rates: { type: 'object', properties: { tasks_per_second: { type: ['number', 'null'] }, eta_seconds: { type: ['number', 'null'] } } },
      created_at: { type: 'string' }, started_at: { type: ['string', 'null'] }, finished_at: { type: ['string', 'null'] }, cancelled_at: { type: ['string', 'null'] },
      crawl: {
        type: ['object', 'null'],
        description: 'a crawl: its options as applied, and (on GET /batches/{id} and the 202) its counters; null for a URL-list batch. url_count and task_count grow as pages are admitted',
        properties: {
          url: { type: 'string' }, max_pages: { type: 'integer' }, max_depth: { type: 'integer' }, include: { type: 'array', items: { type: 'string' } },
          exclude: { type: 'array', items: { type: 'string' } }, sitemaps: { type: 'boolean' }, same_site: { type: 'boolean' }, strip_tracking_params: { type: 'boolean' },
          counters: {
            type: ['object', 'null'],
            properties: {
              discovered: { type: 'integer', description: 'distinct URLs in scope found (admitted or beyond max_pages)' },
              queued: { type: 'integer', description: 'pages admitted' },
              done: { type: 'integer', description: 'admitted pages whose tasks have all finished' },
              depth_reached: { type: 'integer', description: 'deepest depth among admitted pages' },
            },
          },
        },
      },
      links: { type: 'object' },
    },
  },
  ResultRecord: {
    type: 'object',
    description: 'A task (as GET /text_tasks/{id} or /images_tasks/{id}, without links) plus cursor, seq, and text or images.',
    properties: { cursor: { type: 'string' }, seq: { type: 'integer' }, text: { type: ['string', 'null'] }, images: { type: 'array', items: { $ref: '#/components/schemas/Image' } } },
  },
  NewExport: {
    type: 'object', required: ['format'], additionalProperties: false,
    properties: {
      format: { type: 'string', enum: ['webdataset', 'parquet', 'jsonl'] },
      shard_samples: { type: 'integer', minimum: 1, description: 'samples per shard at most (default EXPORT_SHARD_SAMPLES)' },
      shard_bytes: { type: 'integer', minimum: 1024, description: 'a shard closes once this large (default EXPORT_SHARD_BYTES)' },
      include_images: { type: 'boolean', default: false, description: 'parquet: an `image` column with the file bytes' },
      kinds: { type: 'array', items: { type: 'string', enum: ['text', 'images'] } },
      images: { type: 'string', enum: ['original', 'resized'], default: 'original', description: 'resized: each image sample carries its task\'s resized copy (type, size, sha256 of the copy); an image without one carries its original' },
      near_duplicates: {
        type: 'object', additionalProperties: false, minProperties: 1,
        description: 'Drop a sample whose 64-bit hash (images: dHash `phash`, texts: SimHash) is within this Hamming distance of a sample already exported; the first in batch order stays. `max_distance` sets both kinds, the others one kind each (docs/near-duplicates.md).',
        properties: {
          max_distance: { type: 'integer', minimum: 0, maximum: 16 },
          images_max_distance: { type: 'integer', minimum: 0, maximum: 16, description: 'e.g. 5 (re-encoded, resized) to 10 (edited)' },
          text_max_distance: { type: 'integer', minimum: 0, maximum: 16, description: 'e.g. 3 (copies of a page)' },
        },
      },
    },
  },
  Export: {
    type: 'object',
    properties: {
      id: { type: 'string' }, batch_id: { type: 'string' }, format: { type: 'string' }, status: { type: 'string', enum: ['running', 'succeeded', 'failed'] },
      shards: { type: 'array', items: { type: 'object', properties: { index: { type: 'integer' }, name: { type: 'string' }, url: { type: 'string' }, records: { type: 'integer' }, bytes: { type: 'integer' }, sha256: { type: 'string' } } } },
      options: {
        type: 'object',
        properties: {
          shard_samples: { type: 'integer' }, shard_bytes: { type: 'integer' }, include_images: { type: 'boolean' }, images: { type: 'string', enum: ['original', 'resized'] },
          near_duplicates: { type: ['object', 'null'], properties: { images_max_distance: { type: ['integer', 'null'] }, text_max_distance: { type: ['integer', 'null'] } } },
        },
      },
      manifest: {
        type: 'object',
        description: 'totals and per-shard stats: samples, images, texts, image_bytes, text_bytes',
        properties: {
          format: { type: 'string' }, shard_count: { type: 'integer' }, records: { type: 'integer' }, bytes: { type: 'integer' },
          near_duplicates: {
            type: ['object', 'null'],
            description: 'null without the option; per kind compared, the distance and how many samples were dropped (null while running)',
            properties: Object.fromEntries(['images', 'text'].map((k) => [k, { type: ['object', 'null'], properties: { max_distance: { type: 'integer' }, dropped: { type: ['integer', 'null'] } } }])),
          },
          images: {
            type: 'object',
            properties: {
              variant: { type: 'string', enum: ['original', 'resized'] },
              resized: { type: ['integer', 'null'], description: 'image samples that carry their resized copy' },
              without_resized: { type: ['integer', 'null'], description: 'with images: resized, image samples that had no copy (they carry their original)' },
            },
          },
          shards: { type: 'array', items: { type: 'object' } },
        },
      },
      error: {
        type: ['object', 'null'],
        description: 'Why a failed export failed: `{code, message}`; code `export_failed` (e.g. a stored file missing, named in the message) or `interrupted` (the process building it stopped: a standalone service found it at start, or in a cluster its heartbeat was older than EXPORT_STALE_MS; start another)',
      },
    },
  },
};
