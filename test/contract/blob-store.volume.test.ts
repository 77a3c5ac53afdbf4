/** The BlobStore contract on a directory (the shared volume in cluster mode, DATA_DIR/media standalone). */
import fs from 'node:fs';
import { VolumeBlobStore } from '../../src/storage/volume-blob-store.js';
import { tempDir } from '../helpers/temp.js';
import { describeBlobStoreContract } from './blob-store.contract.js';

describeBlobStoreContract('volume', async () => {
  const root = tempDir('blobs-contract-');
  return {
    blobs: new VolumeBlobStore(root, 'http://cdn.example/media/'),
    publicBase: 'http://cdn.example/media/',
    largeBytes: 1024 * 1024,
    close: async () => fs.rmSync(root, { recursive: true, force: true }),
  };
});
