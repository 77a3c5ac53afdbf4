/** The API's OpenAPI 3.1 description, served at /openapi.json. Keep in step with the routers. */
import { batchPaths, batchSchemas } from './openapi-batches.js';
import { webhookEventsDoc, webhookPaths, webhookSchemas } from './openapi-webhooks.js';
import { opsPaths, opsSchemas, opsSecuritySchemes } from './openapi-ops.js';
import { imageOptionProperties, textFormatProperty } from './openapi-task-options.js';

const problem = { $ref: '#/components/responses/Problem' };
const idParam = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };
const pageParams = [
  { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } },
  { name: 'cursor', in: 'query', schema: { type: 'string' }, description: 'next_cursor of the previous page' },
];

function taskPaths(collection: string, schema: string, body: string) {
  const ref = { $ref: `#/components/schemas/${schema}` };
  return {
    [collection]: {
      post: {
        summary: `Create a ${schema}`,
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${body}` } } } },
        responses: {
          '202': { description: 'Accepted; poll the Location', headers: { Location: { schema: { type: 'string' } } }, content: { 'application/json': { schema: ref } } },
          '400': problem, '405': problem, '413': problem, '415': problem,
          '503': { ...problem, description: 'queue_full or shutting_down (nothing was stored), or queue_unavailable; retry after Retry-After' },
        },
      },
      get: {
        summary: `List ${schema}s, newest first`,
        parameters: [{ name: 'status', in: 'query', schema: { $ref: '#/components/schemas/Status' } }, ...pageParams],
        responses: {
          '200': { description: 'A page', content: { 'application/json': { schema: { type: 'object', properties: { items: { type: 'array', items: ref }, next_cursor: { type: ['string', 'null'] } } } } } },
          '400': problem,
        },
      },
    },
    [`${collection}/{id}`]: {
      get: { summary: `Get a ${schema}`, parameters: [idParam], responses: { '200': { description: 'The task', content: { 'application/json': { schema: ref } } }, '404': problem } },
    },
  };
}

export const openApiDocument = {
  openapi: '3.1.0',
  info: { title: 'scrapeds', version: '0.1.0', description: 'Turns web pages into text and image datasets. With AUTH=keys, tasks and batches (with their exports) belong to the key that made them: another non-admin key gets 404 for them, as for ids that do not exist.' },
  paths: {
    ...opsPaths,
    '/health': { get: { summary: 'Liveness and store reachability', responses: { '200': { description: 'OK' } } } },
    ...taskPaths('/text_tasks', 'TextTask', 'NewTextTask'),
    '/text_tasks/{id}/text': {
      get: {
        summary: "The extracted text, in the task's format",
        parameters: [idParam],
        responses: {
          '200': { description: '`text/plain; charset=utf-8` (formats text, main) or `text/markdown; charset=utf-8` (markdown)', content: { 'text/plain': { schema: { type: 'string' } }, 'text/markdown': { schema: { type: 'string' } } } },
          '404': problem, '409': problem,
        },
      },
    },
    ...taskPaths('/images_tasks', 'ImagesTask', 'NewImagesTask'),
    '/images_tasks/{id}/images': {
      get: {
        summary: 'The images of the page, in order of discovery',
        parameters: [idParam, ...pageParams],
        responses: { '200': { description: 'A page of images', content: { 'application/json': { schema: { type: 'object', properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Image' } }, next_cursor: { type: ['string', 'null'] } } } } } }, '400': problem, '404': problem },
      },
    },
    '/images_tasks/{id}/images/{imageId}': {
      get: { summary: 'Download one image file', parameters: [idParam, { name: 'imageId', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'The file, with its image/* type, nosniff and a sandboxing CSP; anything but a passive raster image (SVG…) as an attachment' }, '304': { description: 'Not modified (ETag is the sha256)' }, '404': problem } },
    },
    ...batchPaths,
    ...webhookPaths,
  },
  webhooks: webhookEventsDoc,
  components: {
    securitySchemes: opsSecuritySchemes,
    responses: { Problem: { description: 'RFC 9457 problem details', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } } },
    schemas: {
      ...batchSchemas,
      ...webhookSchemas,
      ...opsSchemas,
      Status: { type: 'string', enum: ['queued', 'running', 'succeeded', 'failed'] },
      NewTask: {
        type: 'object',
        required: ['url'],
        additionalProperties: false,
        properties: { url: { type: 'string', format: 'uri', maxLength: 2048, description: 'http or https; a URL with credentials (user:password@) is refused' }, refresh: { type: 'boolean', default: false }, webhook: { $ref: '#/components/schemas/Webhook' } },
      },
      NewImagesTask: {
        type: 'object',
        required: ['url'],
        additionalProperties: false,
        description: 'Filters and resizing: docs/images.md. A filtered image is listed as skipped and its bytes are not kept.',
        properties: {
          url: { type: 'string', format: 'uri', maxLength: 2048, description: 'http or https; a URL with credentials (user:password@) is refused' },
          refresh: { type: 'boolean', default: false },
          ...imageOptionProperties,
        },
      },
      RightsSignal: {
        type: 'object',
        properties: {
          signal: { type: 'string', enum: ['robots.txt', 'content-signal', 'x-robots-tag', 'meta-robots', 'tdmrep-file', 'tdmrep-header', 'tdmrep-meta', 'ai.txt'] },
          where: { type: 'string' }, value: { type: 'string' }, effect: { type: 'string', enum: ['reserved', 'allowed', 'none'] }, note: { type: 'string' },
        },
      },
      Rights: {
        type: ['object', 'null'],
        description: 'What the site said about AI training (docs/rights.md); null with RIGHTS_POLICY=off',
        properties: { verdict: { type: 'string', enum: ['reserved', 'allowed', 'unknown'] }, signals: { type: 'array', items: { $ref: '#/components/schemas/RightsSignal' } } },
      },
      Error: {
        type: ['object', 'null'],
        description: 'code is stable; message is for people. storage_error and internal_error are the service\'s own failures: their message is fixed, the detail is in the service log.',
        properties: { code: { type: 'string' }, message: { type: 'string' }, http_status: { type: 'integer' }, address: { type: 'string' } },
      },
      NewTextTask: {
        type: 'object', required: ['url'], additionalProperties: false,
        properties: {
          url: { type: 'string', format: 'uri', maxLength: 2048 }, refresh: { type: 'boolean', default: false },
          format: textFormatProperty,
        },
      },
      Metadata: {
        type: 'object',
        description: 'What the page says about itself; null where it says nothing',
        properties: {
          title: { type: ['string', 'null'] }, description: { type: ['string', 'null'] }, author: { type: ['string', 'null'] },
          published: { type: ['string', 'null'], description: 'ISO 8601 when the page gives a parseable date' },
          canonical_url: { type: ['string', 'null'] }, site_name: { type: ['string', 'null'] },
          license: { type: ['string', 'null'], description: 'licence URL: rel=license, a Creative Commons link, or JSON-LD license' },
          language: { type: ['string', 'null'], description: 'ISO 639-1, detected from the main text (eld), else <html lang>' },
          word_count: { type: ['integer', 'null'], description: 'words in the main content' },
        },
      },
      Problem: { type: 'object', properties: { type: { type: 'string' }, title: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' }, errors: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } } } },
      TaskBase: {
        type: 'object',
        properties: {
          id: { type: 'string' }, url: { type: 'string' }, status: { $ref: '#/components/schemas/Status' }, refresh: { type: 'boolean' }, attempts: { type: 'integer', description: 'runs so far (crashed ones and those of workers that died included), at most MAX_ATTEMPTS' },
          created_at: { type: 'string', format: 'date-time' }, updated_at: { type: 'string', format: 'date-time' },
          started_at: { type: ['string', 'null'] }, finished_at: { type: ['string', 'null'] },
          error: { description: 'why a failed task failed (code attempts_exhausted: it gave up after MAX_ATTEMPTS runs; the message names the last failure); on a queued task, what its last crashed attempt ran into before the retry', allOf: [{ $ref: '#/components/schemas/Error' }] },
          rights: { $ref: '#/components/schemas/Rights' },
          page: { type: ['object', 'null'], properties: { final_url: { type: 'string' }, http_status: { type: 'integer' }, content_type: { type: ['string', 'null'] }, title: { type: ['string', 'null'] }, bytes: { type: 'integer' }, proxy: { type: ['string', 'null'], description: 'the proxy the page came through, credentials redacted' } } },
        },
      },
      TextTask: {
        allOf: [
          { $ref: '#/components/schemas/TaskBase' },
          {
            properties: {
              kind: { const: 'text' }, format: { type: 'string', enum: ['text', 'main', 'markdown'] },
              simhash: { type: ['string', 'null'], pattern: '^[0-9a-f]{16}$', description: '64-bit SimHash of the text (docs/near-duplicates.md)' },
              page: { type: ['object', 'null'], properties: { text_length: { type: ['integer', 'null'] }, metadata: { $ref: '#/components/schemas/Metadata' } } },
            },
          },
        ],
      },
      ImagesTask: {
        allOf: [
          { $ref: '#/components/schemas/TaskBase' },
          {
            properties: {
              kind: { const: 'images' },
              counts: { type: 'object', properties: { found: { type: 'integer' }, stored: { type: 'integer' }, reused: { type: 'integer' }, failed: { type: 'integer' }, skipped: { type: 'integer' } } },
              options: {
                type: 'object',
                properties: {
                  min_width: { type: ['integer', 'null'] }, min_height: { type: ['integer', 'null'] }, max_aspect_ratio: { type: ['number', 'null'] },
                  mime_types: { type: ['array', 'null'], items: { type: 'string' } },
                  resize: { type: ['object', 'null'], properties: { max_side: { type: 'integer' }, format: { type: 'string' } } },
                },
              },
            },
          },
        ],
      },
      Image: {
        type: 'object',
        properties: {
          id: { type: 'string' }, position: { type: 'integer' }, source_url: { type: 'string' }, outcome: { type: 'string', enum: ['stored', 'reused', 'failed', 'skipped'] },
          url: { type: ['string', 'null'], description: 'public file URL: /media/… on this origin (served by nginx or the API; with S3_PRESIGN=true a 302 to a presigned GET of the bucket), or under PUBLIC_MEDIA_URL' }, download_url: { type: ['string', 'null'] },
          mime: { type: ['string', 'null'] }, bytes: { type: ['integer', 'null'] }, width: { type: ['integer', 'null'] }, height: { type: ['integer', 'null'] },
          sha256: { type: ['string', 'null'] },
          phash: { type: ['string', 'null'], pattern: '^[0-9a-f]{16}$', description: '64-bit dHash (docs/near-duplicates.md)' },
          alt: { type: ['string', 'null'] }, title: { type: ['string', 'null'] }, figcaption: { type: ['string', 'null'] },
          nearby_text: { type: ['string', 'null'], description: 'text of the closest enclosing block, at most 300 characters' },
          caption: { type: ['string', 'null'], description: 'figcaption, else a useful alt, else title (docs/images.md)' },
          caption_source: { type: ['string', 'null'], enum: ['figcaption', 'alt', 'title', null] },
          rights: { $ref: '#/components/schemas/Rights' },
          resized: { type: ['object', 'null'], properties: { url: { type: 'string' }, mime: { type: 'string' }, bytes: { type: 'integer' }, width: { type: 'integer' }, height: { type: 'integer' }, sha256: { type: ['string', 'null'], description: 'of the copy (null for copies made before it was recorded)' } } },
          error: { $ref: '#/components/schemas/Error' },
          skip_reason: { $ref: '#/components/schemas/Error', description: 'outcome skipped: code filtered or rights_reserved' },
        },
      },
    },
  },
} as const;
