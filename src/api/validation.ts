import { z } from 'zod';
import { TASK_STATUSES, TEXT_FORMATS, type TaskKind } from '../models/task.js';
import { invalid } from './problem.js';

const MAX_URL_LENGTH = 2048;

export const httpUrl = z
  .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
  .trim()
  .min(1, 'must not be empty')
  .max(MAX_URL_LENGTH, `must be at most ${MAX_URL_LENGTH} characters`)
  .refine((v) => URL.canParse(v), 'must be an absolute URL')
  .refine((v) => !URL.canParse(v) || ['http:', 'https:'].includes(new URL(v).protocol), 'must use the http or https scheme')
  .refine((v) => !URL.canParse(v) || new URL(v).hostname !== '', 'must name a host');

export const createTaskBody = z.strictObject(
  {
    url: httpUrl,
    refresh: z.boolean({ error: 'must be a boolean' }).optional().default(false),
  },
  { error: (i) => (i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : 'must be a JSON object') },
);

export const createTextTaskBody = createTaskBody.extend({
  format: z.enum(TEXT_FORMATS as [string, ...string[]], { error: `must be one of ${TEXT_FORMATS.join(', ')}` }).optional().default('text'),
});

/** The body of `POST /text_tasks` or `POST /images_tasks`. */
export function createBodyFor(kind: TaskKind) {
  return kind === 'text' ? createTextTaskBody : createTaskBody;
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
      field: i.path.length ? i.path.join('.') : i.code === 'unrecognized_keys' ? i.keys.join(',') : root,
      message: i.message,
    })),
  );
}
