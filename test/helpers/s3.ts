/** A bucket of its own for a test, on the S3-compatible server scripts/services.sh starts (S3_ENDPOINT). */
import { randomBytes } from 'node:crypto';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';

export interface TestBucket {
  name: string;
  client: S3Client;
  /** Deletes every object, then the bucket. */
  remove(): Promise<void>;
}

/** Credentials come from the environment (./test.sh sources the services' env file), as the service reads them. */
export function testS3Client(endpoint: string): S3Client {
  return new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
}

export async function createTestBucket(endpoint: string, prefix = 'scrapeds-test'): Promise<TestBucket> {
  const client = testS3Client(endpoint);
  const name = `${prefix}-${randomBytes(4).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: name }));
  return {
    name,
    client,
    remove: async () => {
      for (;;) {
        const page = await client.send(new ListObjectsV2Command({ Bucket: name }));
        const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
        if (!keys.length) break;
        await client.send(new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: keys } }));
      }
      await client.send(new DeleteBucketCommand({ Bucket: name }));
      client.destroy();
    },
  };
}
