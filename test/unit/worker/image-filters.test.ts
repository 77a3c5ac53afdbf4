import { filterReason } from '../../../src/worker/image-filters.js';

describe('image filters', () => {
  const file = { mime: 'image/png', width: 200, height: 100 };

  it('passes everything without filters, and what meets every filter', () => {
    expect(filterReason(undefined, file)).toBeUndefined();
    expect(filterReason({ minWidth: 200, minHeight: 100, maxAspectRatio: 2, mimeTypes: ['image/png'] }, file)).toBeUndefined();
  });

  it('names the first filter that fails', () => {
    expect(filterReason({ mimeTypes: ['image/jpeg', 'image/webp'] }, file)).toBe('type image/png is not in mime_types (image/jpeg, image/webp)');
    expect(filterReason({ minWidth: 201 }, file)).toBe('width 200 px is under min_width 201');
    expect(filterReason({ minHeight: 101 }, file)).toBe('height 100 px is under min_height 101');
    expect(filterReason({ maxAspectRatio: 1.5 }, file)).toBe('aspect ratio 2.00 is over max_aspect_ratio 1.5');
    expect(filterReason({ maxAspectRatio: 1.5 }, { mime: 'image/png', width: 100, height: 200 })).toBe('aspect ratio 2.00 is over max_aspect_ratio 1.5');
  });

  it('cannot pass a size filter when the size is unknown, but a type filter can', () => {
    expect(filterReason({ minWidth: 1 }, { mime: 'image/svg+xml' })).toBe('size unknown: cannot check min_width, min_height or max_aspect_ratio');
    expect(filterReason({ mimeTypes: ['image/svg+xml'] }, { mime: 'image/svg+xml' })).toBeUndefined();
  });
});
