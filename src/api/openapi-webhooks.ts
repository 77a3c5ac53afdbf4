/** The webhook part of the OpenAPI document (spread into openapi.ts). Keep in step with webhook-input and the batches router. */
import { WEBHOOK_EVENTS } from '../models/webhook.js';

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export const webhookPaths = {
  '/batches/{id}/webhooks': {
    get: {
      summary: "The batch's webhook endpoint (without its secret) and its deliveries, oldest first",
      parameters: [
        { name: 'id', in: 'path', required: true, schema: { type: 'string' } },
        { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 50 } },
        { name: 'cursor', in: 'query', schema: { type: 'string' } },
      ],
      responses: {
        '200': {
          description: 'A page of deliveries',
          content: { 'application/json': { schema: { type: 'object', properties: { batch_id: { type: 'string' }, endpoint: { type: ['object', 'null'], properties: { url: { type: 'string' }, events: { type: 'array', items: { type: 'string' } } } }, items: { type: 'array', items: ref('WebhookDelivery') }, next_cursor: { type: ['string', 'null'] } } } } },
        },
        '400': { $ref: '#/components/responses/Problem' },
        '404': { $ref: '#/components/responses/Problem' },
      },
    },
  },
};

/** NDJSON batches take the webhook in the query string and its secret in a header (a query string gets logged). */
export const ndjsonWebhookParams = [
  { name: 'webhook_url', in: 'query', description: 'NDJSON only: the webhook URL', schema: { type: 'string', format: 'uri' } },
  { name: 'webhook_events', in: 'query', description: 'NDJSON only: comma-separated events (default: all)', schema: { type: 'string' } },
  { name: 'Webhook-Secret', in: 'header', description: 'NDJSON only: the endpoint secret (whsec_…); made by the service when left out', schema: { type: 'string' } },
];

export const webhookSchemas = {
  WebhookEvent: { type: 'string', enum: [...WEBHOOK_EVENTS] },
  Webhook: {
    type: 'object', required: ['url'], additionalProperties: false,
    description: 'Where to POST events, signed as Standard Webhooks do (webhook-id, webhook-timestamp, webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">). The URL must pass the SSRF guard (400 naming webhook.url otherwise, unless ALLOW_PRIVATE_NETWORKS / ALLOW_CIDRS allow it). Failed attempts (no 2xx within WEBHOOK_TIMEOUT_MS) are retried with exponential backoff for up to 24 h; a delivery an endpoint accepted is not sent again.',
    properties: {
      url: { type: 'string', format: 'uri', maxLength: 2048 },
      secret: { type: 'string', pattern: '^whsec_[A-Za-z0-9+/]+={0,2}$', description: 'base64 of 24..64 bytes after whsec_; made by the service when left out and shown once, in the 202' },
      events: { type: 'array', items: ref('WebhookEvent'), description: 'default: every event of the batch or task' },
    },
  },
  WebhookDelivery: {
    type: 'object',
    properties: {
      id: { type: 'string', description: 'the webhook-id header: receivers dedupe on it' }, event: ref('WebhookEvent'),
      status: { type: 'string', enum: ['pending', 'delivered', 'failed'] }, attempts: { type: 'integer' },
      created_at: { type: 'string' }, next_attempt_at: { type: ['string', 'null'] }, delivered_at: { type: ['string', 'null'] },
      last_status: { type: ['integer', 'null'] }, last_error: { type: ['string', 'null'] }, payload: ref('WebhookPayload'),
    },
  },
  WebhookPayload: {
    type: 'object',
    description: 'batch.started {id, started_at}; batch.task_finished {batch_id, task}; batch.completed / batch.failed (every task finished; failed when none succeeded) {id, status, counts, cancelled_at, links}; the endpoint of a crawl hears crawl.started, crawl.page_finished, crawl.completed / crawl.failed (completed once no page is left to fetch) with the same data instead; task.started / task.completed / task.failed: the task {id, kind, url, status, attempts, batch_id, error, finished_at, links}.',
    properties: { type: ref('WebhookEvent'), timestamp: { type: 'string', format: 'date-time' }, data: { type: 'object' } },
  },
};

/** OpenAPI 3.1 `webhooks`: what the service POSTs to an endpoint. */
export const webhookEventsDoc = {
  event: {
    post: {
      summary: 'An event of a batch, crawl or task',
      parameters: ['webhook-id', 'webhook-timestamp', 'webhook-signature'].map((name) => ({ name, in: 'header', required: true, schema: { type: 'string' } })),
      requestBody: { content: { 'application/json': { schema: ref('WebhookPayload') } } },
      responses: { '2XX': { description: 'Taken: never sent again' }, default: { description: 'Retried with backoff for up to 24 h' } },
    },
  },
};
