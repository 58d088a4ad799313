/**
 * A template version as people read it: v3, everywhere text is shown (JSON
 * keeps the number). The audit stores a plan's template as "id@3".
 */
export function templateVersionWords(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(templateVersionWords);
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'template' && typeof v === 'string') out[key] = templateReference(v);
    else if (VERSION_FIELDS.has(key) && Number.isSafeInteger(v)) out[key] = `v${v as number}`;
    else out[key] = templateVersionWords(v);
  }
  return out;
}

/** "acne@3" as "acne v3"; anything else as it is. */
export function templateReference(stored: string): string {
  return stored.replace(/@(\d+)$/, ' v$1');
}

/** Fields that hold a template's version number. */
const VERSION_FIELDS: ReadonlySet<string> = new Set(['template_version', 'from_version', 'to_version', 'prescribed_version', 'current_version']);
