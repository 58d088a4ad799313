import type { ChalkInstance } from 'chalk';
import type { Diagnostic } from '../../registry/diagnostics.js';
import { countBySeverity } from '../../registry/diagnostics.js';
import { escapeJson, neutraliseValue } from './escape.js';

export interface ReportInput {
  files: readonly string[];
  diagnostics: readonly Diagnostic[];
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

/** JUnit XML: one test case per file, one failure per error (warnings go to system-out). */
function junit(report: ReportInput): string {
  const byFile = new Map<string, Diagnostic[]>(report.files.map((f) => [f, []]));
  for (const d of report.diagnostics) {
    if (!byFile.has(d.file)) byFile.set(d.file, []);
    byFile.get(d.file)!.push(d);
  }
  const failedFiles = [...byFile.values()].filter((list) => list.some((d) => d.severity === 'error')).length;
  const out = ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="txplan template validate" tests="${byFile.size}" failures="${failedFiles}" errors="0">`];
  out.push(`  <testsuite name="txplan template validate" tests="${byFile.size}" failures="${failedFiles}" errors="0" skipped="0">`);
  for (const [file, list] of byFile) {
    out.push(`    <testcase classname="${xml(file)}" name="${xml(file)}">`);
    for (const d of list.filter((x) => x.severity === 'error')) {
      out.push(`      <failure message="${xml(d.message)}" type="${xml(d.code)}">${xml(`${d.file}:${d.line}:${d.column} ${d.code} ${d.path}\n${d.message}`)}</failure>`);
    }
    const warnings = list.filter((x) => x.severity === 'warning');
    if (warnings.length > 0) out.push(`      <system-out>${xml(warnings.map((d) => `${d.file}:${d.line}:${d.column} warning ${d.code}: ${d.message}`).join('\n'))}</system-out>`);
    out.push('    </testcase>');
  }
  out.push('  </testsuite>', '</testsuites>');
  return out.join('\n') + '\n';
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
