/** Content types by key extension, for stores that must name one (a bucket served directly, the API streaming a file). */
import path from 'node:path';

const CONTENT_TYPES: Record<string, string> = {
  '.png': 'image/png', '.jpg': 'image/jpeg', '.gif': 'image/gif', '.webp': 'image/webp', '.avif': 'image/avif',
  '.svg': 'image/svg+xml', '.bmp': 'image/bmp', '.ico': 'image/x-icon', '.tif': 'image/tiff', '.apng': 'image/apng',
  '.jxl': 'image/jxl', '.heic': 'image/heic', '.heif': 'image/heif', '.jp2': 'image/jp2',
  '.json': 'application/json', '.jsonl': 'application/x-ndjson', '.txt': 'text/plain; charset=utf-8',
  '.tar': 'application/x-tar', '.parquet': 'application/vnd.apache.parquet',
};
export const contentTypeOf = (key: string): string => CONTENT_TYPES[path.extname(key).toLowerCase()] ?? 'application/octet-stream';

