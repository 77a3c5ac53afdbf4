/** The OpenAPI description of the shared-service routes (keys, stats, metrics, dashboard); merged in openapi.ts. */

const problem = { $ref: '#/components/responses/Problem' };
const admin = [{ bearer: [] }];
const key = {
  type: 'object',
  properties: {
    id: { type: 'string' }, name: { type: 'string' }, scopes: { type: 'array', items: { $ref: '#/components/schemas/Scope' } },
    created_at: { type: 'string', format: 'date-time' }, revoked_at: { type: ['string', 'null'], format: 'date-time' },
  },
};
const summary = {
  type: 'object',
  properties: {
    requests: { type: 'integer' }, status: { type: 'object', additionalProperties: { type: 'integer' }, description: '2xx, 4xx…' },
    tasks: { type: 'object', description: 'kind → outcome (succeeded or an error code) → count', additionalProperties: { type: 'object', additionalProperties: { type: 'integer' } } },
    pages: { type: 'integer' }, images: { type: 'integer' }, bytes_fetched: { type: 'integer' }, bytes_stored: { type: 'integer' },
    robots_refusals: { type: 'integer' }, rights_refusals: { type: 'integer' },
  },
};

export const opsPaths = {
  '/admin/keys': {
    post: {
      summary: 'Create an API key; the plain key is in this answer only', security: admin,
      requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['name', 'scopes'], additionalProperties: false, properties: { name: { type: 'string', maxLength: 100 }, scopes: { type: 'array', minItems: 1, items: { $ref: '#/components/schemas/Scope' } } } } } } },
      responses: { '201': { description: 'Created', content: { 'application/json': { schema: { allOf: [key, { properties: { key: { type: 'string', pattern: '^sk_[A-Za-z0-9_-]{43}$' } } }] } } } }, '400': problem, '401': problem, '403': problem },
    },
    get: { summary: 'List API keys (no secrets)', security: admin, responses: { '200': { description: 'Keys, oldest first', content: { 'application/json': { schema: { type: 'object', properties: { items: { type: 'array', items: key } } } } } }, '401': problem, '403': problem } },
  },
  '/admin/keys/{id}': {
    delete: { summary: 'Revoke an API key', security: admin, parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { '204': { description: 'Revoked' }, '401': problem, '403': problem, '404': problem } },
  },
  '/stats': {
    get: {
      summary: 'Usage statistics by time bucket, optionally grouped',
      description: 'Needs the read scope. An admin key sees every key\'s usage; any other key only its own (`key` in the answer names it).',
      security: admin,
      parameters: [
        { name: 'from', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'default: 24 h before `to`' },
        { name: 'to', in: 'query', schema: { type: 'string', format: 'date-time' }, description: 'default: now' },
        { name: 'group_by', in: 'query', schema: { type: 'string', enum: ['key', 'ip', 'path', 'host'] } },
        { name: 'interval', in: 'query', schema: { type: 'string', enum: ['minute', 'hour', 'day'], default: 'hour' } },
      ],
      responses: {
        '200': { description: 'Buckets (with `groups` when grouped) and totals', content: { 'application/json': { schema: { type: 'object', properties: { from: { type: 'string' }, to: { type: 'string' }, interval: { type: 'string' }, group_by: { type: ['string', 'null'] }, key: { type: ['string', 'null'], description: 'the key whose usage this is; null: everyone\'s' }, totals: summary, buckets: { type: 'array', items: { type: 'object' } } } } } } },
        '400': problem, '401': problem, '403': problem,
      },
    },
  },
  '/metrics': { get: { summary: 'Prometheus metrics of this process (METRICS_API_KEY: Bearer token)', responses: { '200': { description: 'text/plain; version=0.0.4' }, '401': problem } } },
  '/dashboard': { get: { summary: 'The operator\'s dashboard (HTML; it asks for a key when AUTH=keys)', responses: { '200': { description: 'text/html' } } } },
};

export const opsSchemas = { Scope: { type: 'string', enum: ['read', 'write', 'admin'] } };
export const opsSecuritySchemes = { bearer: { type: 'http', scheme: 'bearer', description: 'AUTH=keys: an API key (sk_…) or ADMIN_API_KEY' } };
