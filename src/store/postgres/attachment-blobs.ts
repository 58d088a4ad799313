import type { Store } from '../store.js';

/**
 * On PostgreSQL a photo's bytes live in the database, so every terminal sees
 * them: one attachment_blobs row per content, named by its sha256. Attachment
 * rows point at it (their path is `db:<sha256>.<ext>`, see src/plans/steps.ts).
 */
export interface AttachmentBlob {
  sha256: string;
  bytes: Buffer;
  created_at: string;
}

/** Stores a photo's bytes unless the same content is there already; true when this call stored them. */
export function storeAttachmentBlob(store: Store, blob: AttachmentBlob): boolean {
  return (
    store
      .statement('INSERT INTO attachment_blobs (sha256, bytes, size, created_at) VALUES (@sha256, @bytes, @size, @created_at) ON CONFLICT (sha256) DO NOTHING')
      .run({ sha256: blob.sha256, bytes: blob.bytes, size: blob.bytes.length, created_at: blob.created_at }).changes === 1
  );
}

/** A photo's bytes by its sha256, or undefined when the database has none. */
export function readAttachmentBlob(store: Store, sha256: string): Buffer | undefined {
  const row = store.statement<[string], { bytes: Uint8Array }>('SELECT bytes FROM attachment_blobs WHERE sha256 = ?').get(sha256);
  // A worker thread's connection hands bytes over as a plain Uint8Array (the session on the calling thread, as a Buffer): the same memory, seen as a Buffer.
  return row ? Buffer.from(row.bytes.buffer, row.bytes.byteOffset, row.bytes.byteLength) : undefined;
}
