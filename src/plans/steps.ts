import { createHash } from 'node:crypto';
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join, relative, sep } from 'node:path';
import ical, { escape, ICalEventTransparency, type ICalLuxonDateTimeStub } from 'ical-generator';
import { FailedError, UsageError } from '../errors.js';
import { checkPerformed, choiceRequired, type StepOffer } from '../domain/performed.js';
import { refuseCardNumbers } from '../domain/cards.js';
import { refuseControlCharacters } from '../domain/safe-text.js';
import { addDays, formatDate, parseDate, type PlainDate } from '../domain/dates.js';
import { vtimezone, wallClock } from '../domain/vtimezone.js';
import { recordAudit } from '../store/audit.js';
import { getAttachments, getSteps, insertAttachment, updatePlanIf, updateStep } from '../store/plans.js';
import { chargesOfPlan, closeCharge } from '../store/charges.js';
import { refundTotals } from '../store/refunds.js';
import { formatMoney } from '../domain/money.js';
import type { Store } from '../store/store.js';
import { readAttachmentBlob, storeAttachmentBlob } from '../store/postgres/attachment-blobs.js';
import type { Actor } from './lifecycle.js';
import { assertAllowed, changedMeanwhile } from './lifecycle.js';
import { createTempFile, makeFolder, placeNoClobber } from '../files.js';
import type { AttachmentRow, ChargeRow, PlanRow, StepRow } from '../domain/records.js';
import { zoneOffsetMinutes } from '../domain/instants.js';

/** Minutes the zone is ahead of UTC at an instant (see domain/instants.ts). */
export { zoneOffsetMinutes };

/**
 * Progress on a plan's steps: marking a visit done or skipped (with notes and
 * photos), recording a booked appointment, and the schedule as a list or an
 * iCalendar file. Pure parts first (date-times, zones, image sniffing), then
 * the operations that write.
 */

// ---------------------------------------------------------------------------
// Clinic-local date-times

/** A wall-clock time at a clinic, as "YYYY-MM-DD HH:MM" (24-hour). */
export interface LocalDateTime {
  date: PlainDate;
  hour: number;
  minute: number;
}

export function parseDateTime(text: string): LocalDateTime | undefined {
  const match = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}):(\d{2})$/.exec(text.trim());
  if (!match) return undefined;
  const date = parseDate(match[1]!);
  const hour = Number(match[2]);
  const minute = Number(match[3]);
  if (!date || hour > 23 || minute > 59) return undefined;
  return { date, hour, minute };
}

export function formatDateTime(value: LocalDateTime): string {
  return `${formatDate(value.date)} ${String(value.hour).padStart(2, '0')}:${String(value.minute).padStart(2, '0')}`;
}

/**
 * The UTC instant of a clinic-local time. Around a DST change a wall-clock
 * time can be ambiguous (clocks go back: it happens twice; the earlier one is
 * taken) or missing (clocks go forward: it never happens; the time is moved
 * forward by the gap, as calendars do). `kind` says which, so a booking can
 * refuse a time that does not exist.
 */
export function localToUtc(local: LocalDateTime, timeZone: string): { instant: Date; kind: 'exact' | 'ambiguous' | 'gap' } {
  const wall = Date.UTC(local.date.year, local.date.month - 1, local.date.day, local.hour, local.minute);
  const day = 86_400_000;
  // The offsets in force a day either side cover any one transition near this time.
  const before = zoneOffsetMinutes(timeZone, new Date(wall - day));
  const after = zoneOffsetMinutes(timeZone, new Date(wall + day));
  const matches = [...new Set([before, after])]
    .map((offset) => wall - offset * 60_000)
    .filter((t) => zoneOffsetMinutes(timeZone, new Date(t)) * 60_000 + t === wall)
    .sort((a, b) => a - b);
  if (matches.length > 0) return { instant: new Date(matches[0]!), kind: matches.length > 1 ? 'ambiguous' : 'exact' };
  return { instant: new Date(wall - before * 60_000), kind: 'gap' };
}

// ---------------------------------------------------------------------------
// Photos

export type ImageKind = 'jpg' | 'png' | 'heic' | 'webp';

export const MAX_PHOTO_BYTES = 25 * 1024 * 1024;

const HEIF_BRANDS = new Set(['heic', 'heix', 'hevc', 'hevx', 'heim', 'heis', 'hevm', 'hevs']);

/** The image format of a file's first bytes (its magic number), or undefined when it is not one txplan keeps. */
export function sniffImage(bytes: Uint8Array): ImageKind | undefined {
  const ascii = (from: number, to: number) => Buffer.from(bytes.subarray(from, to)).toString('latin1');
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'jpg';
  if (bytes.length >= 8 && ascii(0, 8) === '\x89PNG\r\n\x1a\n') return 'png';
  if (bytes.length >= 12 && ascii(0, 4) === 'RIFF' && ascii(8, 12) === 'WEBP') return 'webp';
  if (bytes.length >= 12 && ascii(4, 8) === 'ftyp') {
    // An ISO-BMFF "ftyp" box: the major brand, then compatible brands. HEIF
    // photos say heic/heix…; generic mif1/msf1 files must list a HEIC brand
    // among the compatible ones (AVIF uses the same container).
    const size = Math.min(bytes.length, new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0));
    const brands = [ascii(8, 12)];
    for (let at = 16; at + 4 <= size; at += 4) brands.push(ascii(at, at + 4));
    if (HEIF_BRANDS.has(brands[0]!)) return 'heic';
    if ((brands[0] === 'mif1' || brands[0] === 'msf1') && brands.some((b) => HEIF_BRANDS.has(b))) return 'heic';
  }
  return undefined;
}

/** A photo read and checked, not yet copied anywhere. */
export interface Photo {
  source: string;
  name: string;
  bytes: number;
  sha256: string;
  kind: ImageKind;
  data: Buffer;
}

/** Reads a photo given on the command line, refusing what is not a reasonably sized JPEG, PNG, HEIC or WebP file. */
export function readPhoto(path: string, shown: string = path): Photo {
  let stat;
  try {
    stat = statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' || (error as NodeJS.ErrnoException).code === 'ENOTDIR') throw new FailedError(`The photo ${shown} does not exist; check the path given to --photo`, 'photo_missing');
    throw unreadable(shown, error);
  }
  if (!stat.isFile()) throw new FailedError(`The photo ${shown} is not a regular file; give --photo an image file`, 'photo_invalid');
  if (stat.size > MAX_PHOTO_BYTES) throw tooLarge(shown, stat.size);
  if (stat.size === 0) throw new FailedError(`The photo ${shown} is empty; give --photo a JPEG, PNG, HEIC or WebP image`, 'photo_invalid');
  let data: Buffer;
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw unreadable(shown, error);
  }
  try {
    // Read what was measured, from the same open file: a file growing meanwhile cannot slip past the limit.
    const size = Math.min(fstatSync(fd).size, MAX_PHOTO_BYTES + 1);
    data = Buffer.alloc(size);
    let read = 0;
    while (read < size) {
      const n = readSync(fd, data, read, size - read, read);
      if (n === 0) break;
      read += n;
    }
    data = data.subarray(0, read);
  } finally {
    closeSync(fd);
  }
  if (data.length > MAX_PHOTO_BYTES) throw tooLarge(shown);
  const kind = sniffImage(data);
  if (!kind) throw new FailedError(`The photo ${shown} is not a JPEG, PNG, HEIC or WebP image; convert it to one of those`, 'photo_invalid');
  return { source: path, name: basename(path), bytes: data.length, sha256: createHash('sha256').update(data).digest('hex'), kind, data };
}

function tooLarge(shown: string, size?: number): FailedError {
  return new FailedError(`The photo ${shown} is ${size === undefined ? 'more' : `${(size / 1048576).toFixed(1)} MiB, more`} than the 25 MiB allowed; export a smaller copy`, 'photo_too_large');
}

function unreadable(shown: string, error: unknown): FailedError {
  return new FailedError(`Cannot read the photo ${shown} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); check its permissions`, 'photo_unreadable');
}

/**
 * Copies photos into the attachments folder as <sha256>.<ext>, private to the
 * user. Identical content is stored once. Returns the files this call created,
 * so a failed transaction can remove them again (and only them).
 */
function storePhotos(dir: string, photos: readonly Photo[]): string[] {
  makeFolder(dir, 0o700);
  const created: string[] = [];
  try {
    for (const photo of photos) {
      const file = join(dir, `${photo.sha256}.${photo.kind}`);
      if (existsSync(file)) continue;
      const { path: temp, fd } = createTempFile(file);
      try {
        try {
          writeFileSync(fd, photo.data);
        } finally {
          closeSync(fd);
        }
        // Another writer of the same content may win; its file is as good as ours.
        if (placeNoClobber(temp, file)) created.push(file);
      } finally {
        if (existsSync(temp)) unlinkSync(temp);
      }
    }
  } catch (error) {
    removeFiles(created);
    throw new FailedError(`Could not copy the photos into ${dir}: ${(error as Error).message}; check that folder's permissions`, 'photo_copy');
  }
  return created;
}

/**
 * Where an attachment's bytes are, as its `path` says. On SQLite a photo is a
 * file in the attachments folder and the path is relative to the workspace
 * root (.txplan/attachments/<sha256>.<ext>). On PostgreSQL the bytes are in
 * the database (attachment_blobs, one row per content) so every terminal sees
 * them, and the path says so: `db:<sha256>.<ext>`.
 */
const IN_DATABASE = 'db:';

function databasePhotoPath(photo: Pick<Photo, 'sha256' | 'kind'>): string {
  return `${IN_DATABASE}${photo.sha256}.${photo.kind}`;
}

/**
 * The bytes of an attached photo, wherever its path says they are (`root` is
 * the workspace root a file's path is relative to). What is read is checked
 * against the photo's sha256, so a damaged or replaced copy is never passed on.
 */
export function readAttachment(store: Store, attachment: Pick<AttachmentRow, 'sha256' | 'path' | 'original_name'>, root: string | undefined): Buffer {
  let data: Buffer | undefined;
  if (attachment.path.startsWith(IN_DATABASE)) {
    data = store.kind === 'postgres' ? readAttachmentBlob(store, attachment.sha256) : undefined;
    if (!data) throw new FailedError(`The photo ${attachment.original_name} (${attachment.path}) is not in the database ${store.name}; restore it from a backup`, 'photo_missing');
  } else {
    if (root === undefined) throw new FailedError(`The photo ${attachment.original_name} is a file in a workspace (${attachment.path}); run this inside that workspace`, 'photo_missing');
    try {
      data = readFileSync(join(root, attachment.path));
    } catch (error) {
      throw new FailedError(`Cannot read the photo ${attachment.original_name} at ${attachment.path} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); restore it from a backup`, 'photo_missing');
    }
  }
  if (createHash('sha256').update(data).digest('hex') !== attachment.sha256) {
    throw new FailedError(`The photo ${attachment.original_name} at ${attachment.path} does not match its recorded sha256; restore it from a backup`, 'photo_damaged');
  }
  return data;
}

/**
 * Moves a finished temporary file to its name unless that name exists: a hard
 * link never overwrites. Where links are not supported, an existence check and
 * a rename do nearly as well. Returns false when the name was taken.
 */

function removeFiles(files: readonly string[]): void {
  for (const file of files) {
    try {
      unlinkSync(file);
    } catch {
      // already gone
    }
  }
}

// ---------------------------------------------------------------------------
// Steps

export type StepMark = 'done' | 'skipped';

/** A step number as typed: a positive whole number, or undefined. */
export function parseStepNumber(text: string): number | undefined {
  return /^\d+$/.test(text.trim()) && Number(text) >= 1 ? Number(text) : undefined;
}

export function findStep(steps: readonly StepRow[], plan: PlanRow, n: number): StepRow {
  const step = steps.find((s) => s.n === n);
  if (step) return step;
  const range = steps.length === 0 ? 'no steps' : steps.length === 1 ? 'only step 1' : `steps 1–${steps.length}`;
  throw new FailedError(`Plan ${plan.id} has ${range}, so there is no step ${n}; "txplan plan schedule ${plan.id}" lists them`, 'step_not_found');
}

/** A step's planned services and alternatives, as the rule on performed services reads them. */
export function stepOffer(step: StepRow): StepOffer {
  return { n: step.n, services: JSON.parse(step.services) as string[], alternatives: step.alternatives ? (JSON.parse(step.alternatives) as string[]) : [] };
}

/**
 * The services given with --service for a done step, once the rule allows
 * them (see domain/performed.ts). A plan may name the services it priced when
 * it was applied even if the catalog has dropped them since.
 */
export function checkedServices(plan: PlanRow, step: StepRow, given: readonly string[], catalogIds: readonly string[]): string[] {
  const performed = [...new Set(given.map((id) => id.trim()))];
  const known = [...new Set([...catalogIds, ...Object.keys(JSON.parse(plan.service_prices) as Record<string, number>)])];
  const problem = checkPerformed(plan.id, stepOffer(step), performed, known);
  if (problem) throw new UsageError(problem.message, problem.code);
  return performed;
}

/** Off a terminal, a pay-as-you-go visit with alternatives must say which was performed: its price depends on it. */
export function refuseUnchosen(plan: PlanRow, step: StepRow): never {
  const problem = choiceRequired(plan.id, stepOffer(step));
  throw new UsageError(problem.message, problem.code);
}

export interface StepRecord {
  n: number;
  mark: StepMark;
  /** When the visit happened (or was skipped); the clinic's today by default. */
  date: PlainDate;
  /** The clinic's today: a later date is refused. */
  today: PlainDate;
  /** The clinical note, internal: for the chart, never on the handout. */
  note: string | null;
  /** The note for the patient: the only visit note the handout prints. */
  patientNote?: string | null;
  outcome: string | null;
  /** The services delivered at a done visit, checked with checkedServices; left out, the planned ones. */
  performed?: readonly string[];
  photos: readonly Photo[];
  /** Where photos go on SQLite: the workspace root (paths are stored relative to it) and the attachments folder. Needed only with photos; on PostgreSQL they go in the database. */
  attachments?: { root: string; dir: string };
}

/** What the audit log keeps of a step. */
function stepSummary(step: StepRow, attachments: readonly AttachmentRow[]) {
  return {
    step: step.n,
    status: step.status,
    completed_on: step.completed_on,
    note: step.completion_note,
    patient_note: step.patient_note,
    outcome: step.outcome,
    booked_at: step.booked_at,
    performed: step.performed === null ? null : (JSON.parse(step.performed) as string[]),
    photos: attachments.filter((a) => a.step_id === step.id).map((a) => a.sha256),
  };
}

/** The checks every free text and photo of a visit meets before anything is written; the photos, one per picture. */
function checkedVisitText(texts: { note?: string | null | undefined; patientNote?: string | null | undefined; outcome?: string | null | undefined }, given: readonly Photo[]): Photo[] {
  const fields = { '--note': texts.note, '--patient-note': texts.patientNote, '--outcome': texts.outcome };
  // File names are stored and shown too: they are free text like the note.
  refuseCardNumbers({ ...fields, ...Object.fromEntries(given.map((p) => [`The photo name "${p.name.replace(/\d/g, '#')}"`, p.name])) });
  refuseControlCharacters(fields, true);
  refuseControlCharacters(Object.fromEntries(given.map((p, i) => [`The name of photo ${i + 1}`, p.name])));
  const photos = [...new Map(given.map((p) => [p.sha256, p])).values()]; // the same picture twice is one attachment
  // readPhoto refuses a larger file; a photo reaching here another way meets the same limit before anything is written.
  for (const photo of photos) if (photo.data.length > MAX_PHOTO_BYTES) throw tooLarge(photo.name, photo.data.length);
  return photos;
}

/**
 * Writes a step's new state, its new photos and one audit entry in one
 * transaction, conditional on the step and the plan as read; photo files
 * copied first (SQLite) are removed again if that fails.
 */
function writeStep(
  store: Store,
  plan: PlanRow,
  step: StepRow,
  after: StepRow,
  change: { photos: readonly Photo[]; attachments: { root: string; dir: string } | undefined; action: string; extra?: Record<string, unknown>; also?: () => void },
  who: Actor,
): { step: StepRow; attachments: AttachmentRow[] } {
  const { photos } = change;
  const inDatabase = store.kind === 'postgres';
  if (photos.length > 0 && !inDatabase && !change.attachments) throw new Error('writeStep: photos need an attachments folder');
  const before = stepSummary(step, getAttachments(store, plan.id));
  const at = who.now.toISOString();
  const created = photos.length > 0 && !inDatabase ? storePhotos(change.attachments!.dir, photos) : [];
  try {
    store.transaction(() => {
      // Conditional on the step and the plan as read above: a cancellation or an edit meanwhile refuses this.
      if (!updateStep(store, after) || !updatePlanIf(store, plan.id, plan.version, {}, at)) throw changedMeanwhile(store, plan.id);
      const known = new Set(getAttachments(store, plan.id).filter((a) => a.step_id === step.id).map((a) => a.sha256));
      for (const photo of photos) {
        if (known.has(photo.sha256)) continue; // already kept with this visit
        // In the database, the bytes go in the same transaction as the rows pointing at them: all of it, or nothing.
        if (inDatabase) storeAttachmentBlob(store, { sha256: photo.sha256, bytes: photo.data, created_at: at });
        const path = inDatabase ? databasePhotoPath(photo) : relative(change.attachments!.root, join(change.attachments!.dir, `${photo.sha256}.${photo.kind}`)).split(sep).join('/');
        insertAttachment(store, { step_id: step.id, sha256: photo.sha256, path, original_name: photo.name, bytes: photo.bytes, created_at: at });
      }
      change.also?.();
      const attachments = getAttachments(store, plan.id);
      recordAudit(store, { at, actor: who.actor, action: change.action, entity: 'plan', entityId: plan.id, before, after: { ...stepSummary(after, attachments), ...change.extra } });
    });
  } catch (error) {
    removeFiles(created);
    throw error;
  }
  return { step: { ...after, version: step.version + 1 }, attachments: getAttachments(store, plan.id).filter((a) => a.step_id === step.id) };
}

/**
 * Marks a step done or skipped. Everything is checked before anything is
 * written; the photos are copied first, then the step, its attachment rows and
 * the audit entry are written in one transaction, and the copies are removed
 * again if that fails. On PostgreSQL the photos' bytes are written in that
 * same transaction instead. Charging for a pay-as-you-go visit is the caller's
 * business, after this returns (see Billing.stepDone).
 */
export function recordStep(store: Store, plan: PlanRow, input: StepRecord, who: Actor): { step: StepRow; attachments: AttachmentRow[] } {
  assertAllowed(plan, 'step', 'record a step of');
  const step = findStep(getSteps(store, plan.id), plan, input.n);
  if (step.status !== 'pending') {
    throw new FailedError(`Plan ${plan.id}: step ${step.n} is already ${step.status} on ${step.completed_on ?? 'an earlier date'}; change it with --amend, or return it to pending with --undo`, 'step_recorded');
  }
  const date = formatDate(input.date);
  if (plan.start_date && date < plan.start_date) throw new FailedError(`--date ${date} is before plan ${plan.id} started (${plan.start_date}); give the date of the visit`, 'invalid_date');
  if (date > formatDate(input.today)) throw new FailedError(`--date ${date} is in the future (today at the clinic is ${formatDate(input.today)}); record a step once it has happened`, 'invalid_date');
  const patientNote = input.patientNote ?? null;
  const photos = checkedVisitText({ note: input.note, patientNote, outcome: input.outcome }, input.photos);
  // A done step records what it delivered: the services given, or the planned ones.
  const performed = input.mark === 'done' ? JSON.stringify(input.performed?.length ? [...input.performed] : (JSON.parse(step.services) as string[])) : null;
  const after: StepRow = { ...step, status: input.mark, completed_on: date, completion_note: input.note, patient_note: patientNote, outcome: input.outcome, performed };
  return writeStep(store, plan, step, after, { photos, attachments: input.attachments, action: 'plan.step' }, who);
}

export interface StepAmendment {
  n: number;
  /** Each field given replaces what was recorded (null clears it); left out, it stays. */
  note?: string | null;
  patientNote?: string | null;
  outcome?: string | null;
  /** The services a done visit delivered, checked with checkedServices. */
  performed?: readonly string[];
  /** Photos added to the visit's. */
  photos: readonly Photo[];
  attachments?: { root: string; dir: string };
}

/**
 * Changes what was recorded of a done or skipped visit: only the fields
 * given, with the audit keeping the step before and after. The caller
 * refuses a change of services a charge already stands for.
 */
export function amendStep(store: Store, plan: PlanRow, input: StepAmendment, who: Actor): { step: StepRow; attachments: AttachmentRow[]; changed: string[] } {
  assertAllowed(plan, 'step', 'amend a step of');
  const step = findStep(getSteps(store, plan.id), plan, input.n);
  if (step.status === 'pending') throw new FailedError(`Plan ${plan.id}: step ${step.n} is pending, so there is nothing recorded to amend; record it with --done or --skip`, 'step_pending');
  if (input.performed && step.status !== 'done') throw new UsageError(`Step ${step.n} of plan ${plan.id} was skipped, and a skipped visit performed nothing; leave --service out`);
  const photos = checkedVisitText(input, input.photos);
  const after: StepRow = {
    ...step,
    ...(input.note !== undefined ? { completion_note: input.note } : {}),
    ...(input.patientNote !== undefined ? { patient_note: input.patientNote } : {}),
    ...(input.outcome !== undefined ? { outcome: input.outcome } : {}),
    ...(input.performed ? { performed: JSON.stringify([...input.performed]) } : {}),
  };
  const known = new Set(getAttachments(store, plan.id).filter((a) => a.step_id === step.id).map((a) => a.sha256));
  const added = photos.filter((p) => !known.has(p.sha256));
  const changed = [
    after.completion_note !== step.completion_note ? 'note' : '',
    after.patient_note !== step.patient_note ? 'patient note' : '',
    after.outcome !== step.outcome ? 'outcome' : '',
    after.performed !== step.performed ? 'services' : '',
    added.length > 0 ? `${added.length} photo${added.length === 1 ? '' : 's'}` : '',
  ].filter(Boolean);
  if (changed.length === 0) return { step, attachments: getAttachments(store, plan.id).filter((a) => a.step_id === step.id), changed };
  return { ...writeStep(store, plan, step, after, { photos: added, attachments: input.attachments, action: 'plan.step_amend' }, who), changed };
}

/** A visit's charge and what was refunded of it, as an undo weighs it. */
export interface VisitCharge {
  charge: ChargeRow;
  refundedMinor: number;
  pendingRefundMinor: number;
}

/** The charge made for step n of a plan, with its refunds, if any. */
export function visitChargeFor(store: Store, planId: number, n: number): VisitCharge | undefined {
  const charge = chargesOfPlan(store, planId).find((c) => c.kind === 'step' && c.step_n === n);
  if (!charge) return undefined;
  const totals = refundTotals(store, [charge.id]).get(charge.id);
  return { charge, refundedMinor: totals?.succeeded_minor ?? 0, pendingRefundMinor: totals?.pending_minor ?? 0 };
}

/**
 * Why a recorded visit cannot be undone because of its charge, or undefined.
 * A charge paid and not refunded in full is money taken for the visit: it is
 * refunded first. One still with the processor waits for its answer. A failed
 * one is no obstacle (undoing closes it: it is not retried for a visit that
 * is no longer recorded).
 */
export function undoRefusal(plan: Pick<PlanRow, 'id'>, n: number, visit: VisitCharge | undefined): string | undefined {
  if (!visit) return undefined;
  const { charge } = visit;
  const money = (minor: number) => formatMoney(minor, charge.currency);
  if (charge.status === 'pending') return `Step ${n} of plan ${plan.id} has charge ${charge.id} of ${money(charge.amount_minor)} still waiting for the processor's answer; run "txplan billing run" to settle it, then undo the step (refunding it with "txplan billing refund ${charge.id}" if it succeeded)`;
  if (charge.status !== 'succeeded' || visit.refundedMinor >= charge.amount_minor) return undefined;
  const left = charge.amount_minor - visit.refundedMinor;
  const pending = visit.pendingRefundMinor > 0 ? ` (a refund of ${money(visit.pendingRefundMinor)} is still pending)` : '';
  return `Step ${n} of plan ${plan.id} was paid by charge ${charge.id} (${money(charge.amount_minor)}, ${money(left)} not refunded${pending}); refund it in full with "txplan billing refund ${charge.id} --reason …" first, then undo the step`;
}

/**
 * Returns a done or skipped visit to pending: what was recorded of it (date,
 * notes, outcome, services) is cleared, kept in the audit entry; its photos
 * stay attached. Refused while a charge for it stands (see undoRefusal); a
 * failed charge for it is closed in the same transaction so no retry charges
 * a visit no longer recorded (recording it again retries that charge).
 */
export function undoStep(store: Store, plan: PlanRow, input: { n: number }, who: Actor): { step: StepRow; closedCharge: ChargeRow | undefined } {
  assertAllowed(plan, 'step', 'undo a step of');
  const step = findStep(getSteps(store, plan.id), plan, input.n);
  if (step.status === 'pending') throw new FailedError(`Plan ${plan.id}: step ${step.n} is already pending; nothing to undo`, 'step_pending');
  const visit = visitChargeFor(store, plan.id, step.n);
  const refusal = undoRefusal(plan, step.n, visit);
  if (refusal) throw new FailedError(refusal, 'charged');
  const open = visit?.charge.status === 'failed' ? visit.charge : undefined;
  const after: StepRow = { ...step, status: 'pending', completed_on: null, completion_note: null, patient_note: null, outcome: null, performed: null };
  const at = who.now.toISOString();
  const written = writeStep(store, plan, step, after, {
    photos: [],
    attachments: undefined,
    action: 'plan.step_undo',
    extra: open ? { charge_closed: open.id } : {},
    also: open ? () => closeCharge(store, open.id, at) : undefined,
  }, who);
  return { step: written.step, closedCharge: open };
}

/** Why a booked time does not fit the plan's dates, or undefined when it does. */
export function bookingOutsidePlan(plan: PlanRow, at: LocalDateTime): string | undefined {
  const day = formatDate(at.date);
  const when = formatDateTime(at);
  const runs = plan.start_date && plan.end_date ? ` (it runs ${plan.start_date} to ${plan.end_date})` : '';
  const fix = 'book a time inside it, or add --force to book it anyway';
  if (plan.start_date && day < plan.start_date) return `${when} is before plan ${plan.id} starts${runs}; ${fix}`;
  if (plan.end_date && day > plan.end_date) return `${when} is after plan ${plan.id} ends${runs}; ${fix}`;
  if (plan.status === 'paused' && plan.paused_on && day >= plan.paused_on && (!plan.pause_until || day < plan.pause_until)) {
    const pause = plan.pause_until ? `from ${plan.paused_on} until ${plan.pause_until}` : `since ${plan.paused_on}, with no end date`;
    return `${when} falls inside the pause of plan ${plan.id} (paused ${pause}); book a time after the pause, or add --force to book it anyway`;
  }
  return undefined;
}

/**
 * Records a booked appointment on a step, as the clinic's local time. Plans
 * never book by themselves; this only notes what the front desk booked. A
 * time outside the plan's dates (before its start, after its end, inside a
 * pause) is refused unless forced; a forced booking is audited as such.
 * `at: null` clears the booking. Returns the booking it replaced.
 */
export function bookStep(
  store: Store,
  plan: PlanRow,
  input: { n: number; at: LocalDateTime | null; timeZone: string | undefined; force?: boolean },
  who: Actor,
): { step: StepRow; changed: boolean; previous: string | null } {
  assertAllowed(plan, 'book');
  // A booked time is a wall-clock time at a clinic. Without a clinic there is
  // no time zone to read it in (nor a place), and a calendar export later
  // would guess; so a prescribed plan needs its clinic before it takes bookings.
  if (!input.timeZone && input.at) throw new FailedError(`Plan ${plan.id} has no clinic, so a booked time would have no place or time zone; start it with "txplan plan start ${plan.id} --clinic ID" first`, 'clinic_required');
  const step = findStep(getSteps(store, plan.id), plan, input.n);
  if (step.status !== 'pending') throw new FailedError(`Plan ${plan.id}: step ${step.n} is already ${step.status} on ${step.completed_on ?? 'an earlier date'}, so it cannot be booked; book a pending step instead`, 'step_recorded');
  let at: string | null = null;
  let forced = false;
  if (input.at) {
    at = formatDateTime(input.at);
    if (localToUtc(input.at, input.timeZone!).kind === 'gap') {
      throw new FailedError(`${at} does not exist in ${input.timeZone}: the clocks move forward then; book an hour later`, 'invalid_time');
    }
    const outside = bookingOutsidePlan(plan, input.at);
    if (outside && !input.force) throw new FailedError(outside, 'outside_plan');
    forced = Boolean(outside);
  }
  if (step.booked_at === at) return { step, changed: false, previous: step.booked_at };
  // Each booking set, moved or cleared is a new revision of the visit's calendar event (its SEQUENCE), made now (its
  // LAST-MODIFIED): a cleared visit goes back to its all-day recommended date under the same UID, replacing the booked event.
  const now = who.now.toISOString();
  const after: StepRow = { ...step, booked_at: at, booking_sequence: step.booking_sequence + 1, booking_changed_at: now };
  const booking = (s: StepRow) => ({ step: s.n, booked_at: s.booked_at, sequence: s.booking_sequence, changed_at: s.booking_changed_at });
  store.transaction(() => {
    if (!updateStep(store, after) || !updatePlanIf(store, plan.id, plan.version, {}, now)) throw changedMeanwhile(store, plan.id);
    recordAudit(store, { at: now, actor: who.actor, action: at ? 'plan.book' : 'plan.book_clear', entity: 'plan', entityId: plan.id, before: booking(step), after: { ...booking(after), ...(forced ? { forced: true } : {}) } });
  });
  return { step: { ...after, version: step.version + 1 }, changed: true, previous: step.booked_at };
}

// ---------------------------------------------------------------------------
// Schedule

export interface ServiceInfo {
  name: string;
  minutes?: number | undefined;
}

export interface ScheduleEntry {
  id: number;
  n: number;
  when: string;
  recommended_date: string | null;
  booked_at: string | null;
  status: StepRow['status'];
  completed_on: string | null;
  services: Array<{ id: string; name: string }>;
  note: string | null;
  completion_note: string | null;
  outcome: string | null;
  photos: number;
}

/** The steps as the schedule shows them, with catalog names (a service no longer in the catalog keeps its id). */
export function scheduleOf(steps: readonly StepRow[], attachments: readonly AttachmentRow[], services: ReadonlyMap<string, ServiceInfo>): ScheduleEntry[] {
  return steps.map((s) => ({
    id: s.id,
    n: s.n,
    when: `${s.when_unit === 'week' ? 'Week' : 'Month'} ${s.when_value}`,
    recommended_date: s.recommended_date,
    booked_at: s.booked_at,
    status: s.status,
    completed_on: s.completed_on,
    services: (JSON.parse(s.services) as string[]).map((id) => ({ id, name: services.get(id)?.name ?? id })),
    note: s.note,
    completion_note: s.completion_note,
    outcome: s.outcome,
    photos: attachments.filter((a) => a.step_id === s.id).length,
  }));
}

/** Why a plan has no calendar to export, or undefined when it has one. */
export function noCalendarReason(plan: PlanRow, steps: readonly StepRow[]): string | undefined {
  if (plan.status === 'prescribed' || !plan.start_date) return `plan ${plan.id} is prescribed only and has no dates yet; start it with "txplan plan start ${plan.id}" to get a schedule`;
  if (plan.status === 'cancelled' || plan.status === 'completed') return `plan ${plan.id} is ${plan.status}, so no visits are ahead`;
  if (!steps.some((s) => s.status === 'pending')) return `every step of plan ${plan.id} is done or skipped, so no visits are ahead`;
  return undefined;
}

export interface CalendarInput {
  plan: PlanRow;
  steps: readonly StepRow[];
  services: ReadonlyMap<string, ServiceInfo>;
  timeZone: string;
  /** A stable name for where the plan runs (the clinic id), for event UIDs. */
  site: string;
  /** Where the visits are: the clinic's name and address. */
  location?: string;
  /** The database's own random id, so the same plan in another database never shares an event UID. */
  databaseId: string;
  now: Date;
}

/** Minutes a visit takes: the sum of its services' catalog minutes, an hour when the catalog does not say. */
export function visitMinutes(serviceIds: readonly string[], services: ReadonlyMap<string, ServiceInfo>): number {
  const total = serviceIds.reduce((sum, id) => sum + (services.get(id)?.minutes ?? 0), 0);
  return total > 0 ? total : 60;
}

/**
 * An instant as ical-generator takes a date-time it writes in a named zone
 * (its Luxon-style interface), read in whatever zone the library asks for with
 * the platform's time-zone data. Given a plain Date, the library would write
 * the wall-clock time of the machine running txplan, not the clinic's.
 */
function zonedInstant(instant: Date, timeZone = 'UTC'): ICalLuxonDateTimeStub {
  const two = (n: number) => String(n).padStart(2, '0');
  return {
    isValid: true,
    zone: { type: 'iana' },
    setZone: (zone?: string) => zonedInstant(instant, zone),
    toFormat: (format: string) => {
      const wall = wallClock(timeZone, instant);
      if (format === 'yyyyLLdd') return `${wall.year}${two(wall.month)}${two(wall.day)}`;
      if (format === 'HHmmss') return `${two(wall.hour)}${two(wall.minute)}${two(wall.second)}`;
      throw new Error(`zonedInstant: no format ${format}`);
    },
    toJSDate: () => new Date(instant),
    toJSON: () => instant.toISOString(),
  };
}

/**
 * The pending steps as an iCalendar document (RFC 5545), written with
 * ical-generator. A booked step is a timed event at its booked wall-clock time
 * in the clinic's zone (TZID, with the zone defined in the file), busy; an
 * unbooked one an all-day event on its recommended date that leaves the day
 * free (TRANSP:TRANSPARENT): it is a recommendation, not an appointment.
 * Calendars get shared, synced and forwarded, so events carry only the plan's
 * name, the services and the template's note: never the patient's name or any
 * other personal data. UIDs depend only on the database, the plan, the step
 * and the clinic, so exporting again updates the same events instead of
 * duplicating them; a booking set or moved raises the event's SEQUENCE and
 * sets LAST-MODIFIED, so calendar apps replace what they imported.
 */
export function planCalendar(input: CalendarInput): { text: string; events: number } {
  const { plan, timeZone } = input;
  const years: number[] = [];
  const calendar = ical({
    // ical-generator 9 writes NAME and X-WR-CALNAME as given, unlike every other TEXT value: escaped here with its own escaping.
    name: escape(plan.name, false),
    prodId: { company: 'txplan', product: 'txplan', language: 'EN' },
    scale: 'gregorian',
    // The zone of the booked visits, defined in the file. No calendar-wide zone name: ical-generator would then write
    // DTSTAMP and LAST-MODIFIED as local times, where RFC 5545 wants them in UTC.
    timezone: { name: null, generator: (zone) => (years.length > 0 ? vtimezone(zone, Math.min(...years), Math.max(...years)) : null) },
  });
  let events = 0;
  for (const step of input.steps) {
    if (step.status !== 'pending') continue;
    const ids = JSON.parse(step.services) as string[];
    const common = {
      id: `txplan-${input.databaseId}-plan-${plan.id}-step-${step.n}@${input.site}.txplan.invalid`,
      stamp: input.now,
      sequence: step.booking_sequence,
      lastModified: step.booking_changed_at ? new Date(step.booking_changed_at) : null,
      summary: `${plan.name}: ${ids.map((id) => input.services.get(id)?.name ?? id).join(' + ')}`,
      description: step.note,
      location: input.location ?? null,
    };
    const booked = step.booked_at ? parseDateTime(step.booked_at) : undefined;
    if (booked) {
      const start = localToUtc(booked, timeZone).instant;
      const end = new Date(start.getTime() + visitMinutes(ids, input.services) * 60_000);
      years.push(booked.date.year, wallClock(timeZone, end).year);
      calendar.createEvent({ ...common, timezone: timeZone, start: zonedInstant(start), end: zonedInstant(end), transparency: ICalEventTransparency.OPAQUE });
    } else if (step.recommended_date) {
      // All-day dates are written from the UTC calendar date of these instants (the events have no zone).
      const day = parseDate(step.recommended_date)!;
      const next = addDays(day, 1);
      calendar.createEvent({ ...common, allDay: true, start: new Date(Date.UTC(day.year, day.month - 1, day.day)), end: new Date(Date.UTC(next.year, next.month - 1, next.day)), transparency: ICalEventTransparency.TRANSPARENT });
    } else continue;
    events++;
  }
  // ical-generator ends the last line without the CRLF RFC 5545 puts after every line.
  const text = calendar.toString();
  return { text: text.endsWith('\r\n') ? text : `${text}\r\n`, events };
}
