/** Binds the schemas to one mongoose Connection (never the global one) and creates their indexes. */
import type { Connection, Model } from 'mongoose';
import { batchSchema, exportSchema, type BatchDoc, type ExportDoc } from './batch-model.js';
import { frontierSchema, type FrontierDoc } from './frontier-model.js';
import { imageSchema, type ImageDoc } from './image-model.js';
import { apiKeySchema, rateCellSchema, usageSchema, type ApiKeyDoc, type RateCellDoc, type UsageDoc } from './ops-models.js';
import { ticketSchema, type TicketDoc } from './revision.js';
import { taskImageSchema, type TaskImageDoc } from './task-image-model.js';
import { taskSchema, type TaskDoc } from './task-model.js';
import { textSchema, type TextDoc } from './text-model.js';
import { webhookDeliverySchema, webhookEndpointSchema, type WebhookDeliveryDoc, type WebhookEndpointDoc } from './webhook-model.js';

export interface Models {
  tasks: Model<TaskDoc>;
  texts: Model<TextDoc>;
  images: Model<ImageDoc>;
  taskImages: Model<TaskImageDoc>;
  tickets: Model<TicketDoc>;
  batches: Model<BatchDoc>;
  exports: Model<ExportDoc>;
  frontier: Model<FrontierDoc>;
  webhookEndpoints: Model<WebhookEndpointDoc>;
  webhookDeliveries: Model<WebhookDeliveryDoc>;
  apiKeys: Model<ApiKeyDoc>;
  usage: Model<UsageDoc>;
  rateCells: Model<RateCellDoc>;
}

export function bindModels(conn: Connection): Models {
  return {
    tasks: conn.model<TaskDoc>('Task', taskSchema, 'tasks'),
    texts: conn.model<TextDoc>('TaskText', textSchema, 'task_texts'),
    images: conn.model<ImageDoc>('Image', imageSchema, 'images'),
    taskImages: conn.model<TaskImageDoc>('TaskImage', taskImageSchema, 'task_images'),
    tickets: conn.model<TicketDoc>('RevisionTicket', ticketSchema, 'revision_tickets'),
    batches: conn.model<BatchDoc>('Batch', batchSchema, 'batches'),
    exports: conn.model<ExportDoc>('Export', exportSchema, 'exports'),
    frontier: conn.model<FrontierDoc>('CrawlFrontier', frontierSchema, 'crawl_frontier'),
    webhookEndpoints: conn.model<WebhookEndpointDoc>('WebhookEndpoint', webhookEndpointSchema, 'webhook_endpoints'),
    webhookDeliveries: conn.model<WebhookDeliveryDoc>('WebhookDelivery', webhookDeliverySchema, 'webhook_deliveries'),
    apiKeys: conn.model<ApiKeyDoc>('ApiKey', apiKeySchema, 'api_keys'),
    usage: conn.model<UsageDoc>('Usage', usageSchema, 'usage'),
    rateCells: conn.model<RateCellDoc>('RateCell', rateCellSchema, 'rate_cells'),
  };
}

/**
 * createIndexes, not syncIndexes: it only adds what is missing, so processes opening the store at once
 * (or an older version still running) never drop each other's indexes.
 */
/**
 * Creates every collection, then its indexes. Every collection, even one without indexes: FerretDB v1
 * creates a missing collection on its first write under its catalogue's lock, while it waits for a
 * PostgreSQL connection that requests waiting for that lock hold; with more than its 50 connections' worth
 * of commands in flight, it hangs for good (seen in a cluster bench on the first text saved).
 */
export async function ensureIndexes(models: Models): Promise<void> {
  for (const model of Object.values(models) as Model<unknown>[]) {
    await model.createCollection().catch((err: unknown) => {
      if ((err as { code?: unknown }).code !== 48) throw err; // NamespaceExists: another process made it first
    });
    await model.createIndexes();
  }
}
