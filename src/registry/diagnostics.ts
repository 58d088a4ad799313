/** One finding of template validation, located in its source file. */
export interface Diagnostic {
  /** The file as the user named it (relative to the working directory when inside it). */
  file: string;
  /** 1-based position of the closest YAML node. */
  line: number;
  column: number;
  endLine: number;
  endColumn: number;
  /** Where in the document, e.g. "schedule[3].when.month"; "" for the whole file. */
  path: string;
  /** Stable rule code, e.g. "when-outside-duration". */
  code: string;
  severity: Severity;
  message: string;
}

export type Severity = 'error' | 'warning';

export type PathSegment = string | number;

/** A finding before it is located: rules speak in document paths, not lines. */
export interface Finding {
  path: PathSegment[];
  code: string;
  severity?: Severity;
  message: string;
  /** Point at the key of the last segment rather than its value (unknown fields). */
  atKey?: boolean;
}

/** "schedule[3].when.month" */
export function formatPath(path: readonly PathSegment[]): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

export function countBySeverity(diagnostics: readonly Diagnostic[]): { errors: number; warnings: number } {
  let errors = 0;
  for (const d of diagnostics) if (d.severity === 'error') errors++;
  return { errors, warnings: diagnostics.length - errors };
}

/** Orders by file, then position, so every format prints the same sequence. */
export function compareDiagnostics(a: Diagnostic, b: Diagnostic): number {
  return a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.column - b.column || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0);
}
