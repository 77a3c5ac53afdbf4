import { z } from 'zod';
import { TASK_STATUSES, TEXT_FORMATS, type ImagesTaskOptions } from '../models/task.js';
import { invalid } from './problem.js';

const MAX_URL_LENGTH = 2048;

export const httpUrl = z
  .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`)
  .refine((v) => URL.canParse(v), 'must be an absolute URL')
  .refine((v) => !URL.canParse(v) || ['http:', 'https:'].includes(new URL(v).protocol), 'must use the http or https scheme')
  .refine((v) => !URL.canParse(v) || new URL(v).hostname !== '', 'must name a host')
  // Refused rather than stripped: fetching without them would not be the page asked for, and keeping them
  // would store and show a secret in every listing.
  .refine((v) => !URL.canParse(v) || (new URL(v).username === '' && new URL(v).password === ''), 'must not contain credentials (user:password@)');

export const createTaskBody = z.strictObject(
  {
    url: httpUrl,
    refresh: z.boolean({ error: 'must be a boolean' }).optional().default(false),
  },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : 'must be a JSON object') },
);

/** The format of a text task's stored text. */
export const textFormat = z.enum(TEXT_FORMATS as [string, ...string[]], { error: `must be one of ${TEXT_FORMATS.join(', ')}` });

export const createTextTaskBody = createTaskBody.extend({
  format: textFormat.optional().default('text'),
});

const positiveInt = (max: number) =>
  z.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(max, `must be at most ${max}`).optional();

export const resizeMaxSide = z.number({ error: (i) => (i.input === undefined ? 'is required' : 'must be a number') }).int('must be an integer').min(1, 'must be at least 1').max(8192, 'must be at most 8192');
export const resizeFormat = z.enum(['webp', 'jpeg', 'png'], { error: 'must be one of webp, jpeg, png' });

/** An images task's options (docs/images.md): filters, and a resized copy. Single tasks and batches take them alike. */
export const imageOptionFields = {
  min_width: positiveInt(100_000),
  min_height: positiveInt(100_000),
  max_aspect_ratio: z.number({ error: 'must be a number' }).min(1, 'must be at least 1 (longer side over shorter side)').max(10_000, 'must be at most 10000').optional(),
  mime_types: z
    .array(z.string({ error: 'must be a string' }).trim().toLowerCase().regex(/^image\/[a-z0-9][a-z0-9.+-]*$/, 'must be an image/* MIME type'), { error: 'must be an array of MIME types' })
    .min(1, 'must name at least one type')
    .max(32, 'must name at most 32 types')
    .optional(),
  resize: z
    .strictObject(
      { max_side: resizeMaxSide, format: resizeFormat.default('webp') },
      { error: (i) => (i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : 'must be an object {max_side, format}') },
    )
    .optional(),
};

export const createImagesTaskBody = createTaskBody.extend(imageOptionFields);

type ImageOptionsInput = Partial<{ [K in keyof typeof imageOptionFields]: z.infer<(typeof imageOptionFields)[K]> }>;

/** Validated option fields → the images task options stored with the task (undefined when none is given). */
export function imagesOptionsOf(body: ImageOptionsInput): ImagesTaskOptions | undefined {
  const filters: NonNullable<ImagesTaskOptions['filters']> = {};
  if (body.min_width !== undefined) filters.minWidth = body.min_width;
  if (body.min_height !== undefined) filters.minHeight = body.min_height;
  if (body.max_aspect_ratio !== undefined) filters.maxAspectRatio = body.max_aspect_ratio;
  if (body.mime_types !== undefined) filters.mimeTypes = [...new Set(body.mime_types)];
  const options: ImagesTaskOptions = {};
  if (Object.keys(filters).length) options.filters = filters;
  if (body.resize) options.resize = { maxSide: body.resize.max_side, format: body.resize.format };
  return Object.keys(options).length ? options : undefined;
}

export const listQuery = z.strictObject(
  {
    status: z.enum(TASK_STATUSES as [string, ...string[]], { error: `must be one of ${TASK_STATUSES.join(', ')}` }).optional(),
    limit: z.coerce.number({ error: 'must be a number' }).int('must be an integer').min(1, 'must be at least 1').max(1000, 'must be at most 1000').default(50),
    cursor: z.string().min(1, 'must not be empty').max(512, 'is too long').optional(),
  },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown parameter(s): ${i.keys.join(', ')}` : 'invalid query') },
);

export const pageQuery = listQuery.omit({ status: true });

/** Parses or throws a 400 problem naming each bad field (the body root is called `body`). */
export function parse<T extends z.ZodType>(schema: T, input: unknown, root: string): z.infer<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw invalid(
    result.error.issues.map((i) => ({
      field: i.code === 'unrecognized_keys' ? [...i.path, i.keys.join(',')].join('.') : i.path.length ? i.path.join('.') : root,
      message: i.message,
    })),
  );
}
