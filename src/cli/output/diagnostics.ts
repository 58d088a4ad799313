import type { ChalkInstance } from 'chalk';
import type { Diagnostic } from '../../registry/diagnostics.js';
import { countBySeverity } from '../../registry/diagnostics.js';
import { escapeJson, neutraliseValue } from './escape.js';

export interface ReportInput {
  files: readonly string[];
  diagnostics: readonly Diagnostic[];
  /** Seconds spent on each of `files`, and on the whole run (JUnit carries them). */
  seconds?: readonly number[];
  totalSeconds?: number;
}

/** Output formats of `template validate`: pure functions from results to text. */
export const formatters = {
  stylish,
  json,
  github,
  junit,
} as const satisfies Record<string, (report: ReportInput, color: ChalkInstance) => string>;

export type FormatName = keyof typeof formatters;
export const formatNames = Object.keys(formatters) as FormatName[];

function stylish(report: ReportInput, color: ChalkInstance): string {
  const { errors, warnings } = countBySeverity(report.diagnostics);
  const lines: string[] = [];
  let file: string | undefined;
  for (const d of report.diagnostics) {
    // Every line carries file:line:column, so terminals and editors can jump to it.
    if (file !== undefined && d.file !== file) lines.push('');
    file = d.file;
    const severity = d.severity === 'error' ? color.red('error') : color.yellow('warning');
    // File names and messages may quote the file's own text: one line each, no control characters.
    lines.push(`${color.bold(`${neutraliseValue(d.file)}:${d.line}:${d.column}`)}  ${severity}  ${neutraliseValue(d.message)}  ${color.dim(neutraliseValue(d.code))}`);
  }
  if (lines.length > 0) lines.push('');
  const fileCount = plural(report.files.length, 'file');
  if (errors + warnings === 0) {
    lines.push(color.green(`✔ ${fileCount} checked, no problems`));
  } else {
    const summary = `${plural(errors + warnings, 'problem')} (${plural(errors, 'error')}, ${plural(warnings, 'warning')}) in ${fileCount}`;
    lines.push(errors > 0 ? color.red.bold(`✖ ${summary}`) : color.yellow.bold(`⚠ ${summary}`));
  }
  return lines.join('\n') + '\n';
}

function json(report: ReportInput): string {
  const { errors, warnings } = countBySeverity(report.diagnostics);
  return escapeJson(JSON.stringify({ ok: errors === 0, files: report.files.length, errors, warnings, diagnostics: report.diagnostics }, null, 2)) + '\n';
}

/**
 * GitHub Actions workflow commands: annotations on the pull request's diff.
 * Data and properties are escaped as @actions/core does (%, CR, LF; and : ,
 * in properties), so every line txplan prints starts with the command it
 * means, and no text from a template can begin a line of its own.
 */
function github(report: ReportInput): string {
  const property = (value: string) => escapeData(value).replace(/:/g, '%3A').replace(/,/g, '%2C');
  const lines = report.diagnostics.map(
    (d) =>
      `::${d.severity === 'error' ? 'error' : 'warning'} file=${property(d.file)},line=${d.line},col=${d.column},endLine=${d.endLine},endColumn=${d.endColumn},title=${property(d.code)}::${escapeData(d.path ? `${d.message} (at ${d.path})` : d.message)}`,
  );
  const { errors, warnings } = countBySeverity(report.diagnostics);
  lines.push(`${plural(report.files.length, 'file')} checked: ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`);
  return lines.join('\n') + '\n';
}

function escapeData(value: string): string {
  return neutraliseValue(value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A'));
}

/**
 * JUnit XML, in the shape of the schema Jenkins reads (and GitLab, Azure and
 * the other CI tools that take JUnit): one test case per file checked, with
 * its duration, and at most one <failure> holding all of the file's errors —
 * the message attribute lists them one a line, the body adds where each is.
 * Warnings go to the test case's system-out. The classname groups by folder
 * and names the file without its extension ("templates.acne-program"), since
 * CI tools take the part after the last dot as the class and the rest as the
 * package; dots inside a folder or file name become "_".
 */
function junit(report: ReportInput): string {
  const seconds = new Map(report.files.map((f, i) => [f, report.seconds?.[i] ?? 0]));
  const byFile = new Map<string, Diagnostic[]>(report.files.map((f) => [f, []]));
  for (const d of report.diagnostics) {
    if (!byFile.has(d.file)) byFile.set(d.file, []);
    byFile.get(d.file)!.push(d);
  }
  const failedFiles = [...byFile.values()].filter((list) => list.some((d) => d.severity === 'error')).length;
  const counts = `tests="${byFile.size}" failures="${failedFiles}" errors="0"`;
  const total = time(report.totalSeconds ?? 0);
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="txplan template validate" ${counts} time="${total}">`];
  out.push(`  <testsuite name="txplan template validate" ${counts} skipped="0" time="${total}">`);
  for (const [file, list] of byFile) {
    out.push(`    <testcase classname="${attribute(junitClassname(file))}" name="${attribute(file)}" time="${time(seconds.get(file) ?? 0)}">`);
    const errors = list.filter((x) => x.severity === 'error');
    if (errors.length > 0) {
      const codes = [...new Set(errors.map((d) => d.code))].join(', ');
      const details = errors.map((d) => `${d.file}:${d.line}:${d.column} error ${d.code}${d.path ? ` (at ${d.path})` : ''}\n${d.message}`).join('\n\n');
      out.push(`      <failure message="${attribute(errors.map((d) => d.message).join('\n'))}" type="${attribute(codes)}">${text(details)}</failure>`);
    }
    const warnings = list.filter((x) => x.severity === 'warning');
    if (warnings.length > 0) out.push(`      <system-out>${text(warnings.map((d) => `${d.file}:${d.line}:${d.column} warning ${d.code}: ${d.message}`).join('\n'))}</system-out>`);
    out.push('    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>');
  return out.join('\n') + '\n';
}

/** "templates/acne-program.yaml" → "templates.acne-program": package = folders, class = file. */
function junitClassname(file: string): string {
  const segments = file.split(/[\\/]+/).filter((s) => s !== '' && s !== '.' && s !== '..');
  const last = segments.pop() ?? file;
  const dot = last.lastIndexOf('.');
  segments.push(dot > 0 ? last.slice(0, dot) : last);
  return segments.map((s) => s.replace(/\./g, '_')).join('.');
}

function time(seconds: number): string {
  return seconds.toFixed(3);
}

/** Element text: line feeds stay, a carriage return would be read as a line feed. */
function text(value: string): string {
  return xml(value).replace(/\r/g, '&#13;');
}

/** Attribute values: parsers turn a literal tab, CR or LF into a space, character references survive. */
function attribute(value: string): string {
  return xml(value).replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}

function xml(text: string): string {
  // XML 1.0 cannot carry most control characters at all, even escaped.
  return text
    .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\u202A-\u202E\u2066-\u2069\uFFFE\uFFFF]/g, '\uFFFD')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
