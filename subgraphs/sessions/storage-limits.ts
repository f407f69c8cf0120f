import type { z } from 'zod';
import type { sessionsStorageEnv } from '../../platform/config.ts';

/** Limits and ages of the sessions storage features, from the `sessionsStorageEnv` fragment. */
export interface StorageLimits {
  attachmentMaxBytes: number;
  attachmentContentTypes: readonly string[];
  uploadUrlTtlSeconds: number;
  pendingUploadMaxAgeSeconds: number;
  downloadUrlTtlSeconds: number;
  exportUrlTtlSeconds: number;
  exportMaxAgeSeconds: number;
  importMaxBytes: number;
  retentionMaxAgeDays: number;
  retentionBatchSize: number;
  jobsIntervalSeconds: number;
}

export function storageLimitsFrom(config: z.infer<z.ZodObject<typeof sessionsStorageEnv>>): StorageLimits {
  return {
    attachmentMaxBytes: config.ATTACHMENT_MAX_BYTES,
    attachmentContentTypes: config.ATTACHMENT_CONTENT_TYPES,
    uploadUrlTtlSeconds: config.ATTACHMENT_UPLOAD_URL_TTL_SECONDS,
    pendingUploadMaxAgeSeconds: config.ATTACHMENT_PENDING_MAX_AGE_SECONDS,
    downloadUrlTtlSeconds: config.STORAGE_DOWNLOAD_URL_TTL_SECONDS,
    exportUrlTtlSeconds: config.EXPORT_URL_TTL_SECONDS,
    exportMaxAgeSeconds: config.EXPORT_MAX_AGE_SECONDS,
    importMaxBytes: config.IMPORT_MAX_BYTES,
    retentionMaxAgeDays: config.RETENTION_MAX_AGE_DAYS,
    retentionBatchSize: config.RETENTION_BATCH_SIZE,
    jobsIntervalSeconds: config.STORAGE_JOBS_INTERVAL_SECONDS,
  };
}
