/** The task options of the OpenAPI document: single tasks and batches take the same ones (validation.ts). */

export const textFormatProperty = {
  type: 'string', enum: ['text', 'main', 'markdown'], default: 'text',
  description: 'text: the whole page; main: the main content (article or post body and headings, no navigation, sidebars, comments, ads); markdown: the main content as Markdown',
};

export const imageOptionProperties = {
  min_width: { type: 'integer', minimum: 1, maximum: 100000 },
  min_height: { type: 'integer', minimum: 1, maximum: 100000 },
  max_aspect_ratio: { type: 'number', minimum: 1, maximum: 10000, description: 'longer side over shorter side' },
  mime_types: { type: 'array', minItems: 1, maxItems: 32, items: { type: 'string', pattern: '^image/[a-z0-9][a-z0-9.+-]*$' }, description: 'allowed sniffed types' },
  resize: {
    type: 'object',
    required: ['max_side'],
    additionalProperties: false,
    properties: { max_side: { type: 'integer', minimum: 1, maximum: 8192 }, format: { type: 'string', enum: ['webp', 'jpeg', 'png'], default: 'webp' } },
  },
};
