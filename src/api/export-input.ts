/** The dataset options of POST /batches/:id/exports beyond format and sharding: which image file, and near-duplicates. */
import { z } from 'zod';
import type { ExportImageVariant, NearDuplicateOptions } from '../models/batch.js';
import { MAX_NEAR_DUPLICATE_DISTANCE } from '../datasets/near-duplicates.js';

const distance = z
  .number({ error: 'must be a number' })
  .int('must be an integer')
  .min(0, 'must be at least 0')
  .max(MAX_NEAR_DUPLICATE_DISTANCE, `must be at most ${MAX_NEAR_DUPLICATE_DISTANCE}`)
  .optional();

/**
 * `{"max_distance": N}` compares images and texts alike; `images_max_distance` / `text_max_distance`
 * set (or override) one kind's. Distances are Hamming distances between 64-bit hashes (docs/near-duplicates.md).
 */
export const nearDuplicatesInput = z
  .strictObject(
    { max_distance: distance, images_max_distance: distance, text_max_distance: distance },
    { error: (i) => (i.code === 'unrecognized_keys' ? `unknown field(s): ${i.keys.join(', ')}` : 'must be an object {max_distance, images_max_distance, text_max_distance}') },
  )
  .refine((v) => Object.values(v).some((d) => d !== undefined), 'must set max_distance, images_max_distance or text_max_distance')
  .transform((v): NearDuplicateOptions => {
    const images = v.images_max_distance ?? v.max_distance;
    const text = v.text_max_distance ?? v.max_distance;
    return { ...(images !== undefined ? { images } : {}), ...(text !== undefined ? { text } : {}) };
  })
  .optional();

export const imagesVariantInput = z
  .enum(['original', 'resized'], { error: 'must be original or resized' })
  .default('original')
  .transform((v) => v as ExportImageVariant);
