import type { Context } from './context.js';
import { importPackage } from '../packages.js';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

const silent: Progress = { update() {}, stop() {} };

/**
 * A progress bar on stderr when a person is watching; nothing when piped or
 * with --json. `total` may be 0 when it is only known once work starts: the
 * bar then appears at the first update.
 */
export async function progressBar(ctx: Context, label: string, total: number): Promise<Progress> {
  if (!ctx.streams.stderr.isTTY || ctx.options.json) return silent;
  const { SingleBar, Presets } = await importPackage<typeof import('cli-progress')>('cli-progress');
  const bar = new SingleBar(
    { format: `${label} [{bar}] {value}/{total} {percentage}% {eta_formatted}`, stream: ctx.streams.stderr as NodeJS.WriteStream, hideCursor: true, clearOnComplete: true, etaBuffer: 100, fps: 10 },
    Presets.shades_classic,
  );
  let started = false;
  const start = (size: number) => {
    if (started || size < 2) return;
    bar.start(size, 0);
    started = true;
  };
  start(total);
  return {
    update: (done, size) => {
      start(size);
      if (!started) return;
      bar.setTotal(size);
      bar.update(done);
    },
    stop: () => {
      if (started) bar.stop();
    },
  };
}
