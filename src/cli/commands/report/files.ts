import { statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Context } from '../../context.js';
import { FailedError, UsageError } from '../../../errors.js';
import { checkTarget, writeFileAtomically } from '../../../files.js';
import type { Report } from '../../../domain/report.js';
import type { Paper } from '../../../handout/render.js';
import { drawCharts, reportCharts } from '../../../report/charts.js';
import { reportHtml, type ReportScope } from '../../../report/html.js';

export interface ReportFiles {
  pdf?: string;
  html?: string;
  force?: boolean;
}

export interface WrittenReport {
  format: 'pdf' | 'html';
  file: string;
  pages?: number;
}

/**
 * `txplan report --pdf FILE` / `--html FILE`: the report with its charts,
 * written as handouts are (whole or not at all, private to their owner, an
 * existing file only replaced with --force). Both targets are checked before
 * any chart is drawn; vega and pdfkit load only here.
 */
export async function writeReportFiles(ctx: Context, report: Report, scope: ReportScope, files: ReportFiles, paper: Paper): Promise<WrittenReport[]> {
  const force = files.force ?? false;
  const pdf = files.pdf === undefined ? undefined : resolve(ctx.cwd, files.pdf);
  const html = files.html === undefined ? undefined : resolve(ctx.cwd, files.html);
  if (pdf !== undefined && pdf === html) throw new UsageError('--pdf and --html name the same file; give each its own');
  for (const [flag, file, name] of [['--pdf', pdf, 'report.pdf'], ['--html', html, 'report.html']] as const) {
    if (file === undefined) continue;
    if (isFolder(file)) throw new FailedError(`${file} is a folder; give ${flag} a file name such as ${join(file, name)}`, 'is_directory');
    checkTarget(file, force);
  }
  const charts = await drawCharts(reportCharts(report));
  // Both are made before either is written: a chart or page that fails to draw leaves neither file.
  const page = html === undefined ? undefined : reportHtml(report, charts, scope);
  const rendered = pdf === undefined ? undefined : await (await import('../../../report/pdf.js')).reportPdf(report, charts, scope, paper);
  const written: WrittenReport[] = [];
  if (html !== undefined && page !== undefined) {
    writeFileAtomically(html, page, force);
    written.push({ format: 'html', file: html });
  }
  if (pdf !== undefined && rendered !== undefined) {
    writeFileAtomically(pdf, rendered.bytes, force);
    written.push({ format: 'pdf', file: pdf, pages: rendered.pages });
  }
  return written;
}

function isFolder(file: string): boolean {
  try {
    return statSync(file).isDirectory();
  } catch {
    return false;
  }
}
