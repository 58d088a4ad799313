import type { Context } from './context.js';

export interface Progress {
  update(done: number, total: number): void;
  stop(): void;
}

const silent: Progress = { update() {}, stop() {} };

/** A progress bar on stderr when a person is watching; nothing when piped or with --json. */
export async function progressBar(ctx: Context, label: string, total: number): Promise<Progress> {
  if (!ctx.streams.stderr.isTTY || ctx.options.json || total < 2) return silent;
  const { SingleBar, Presets } = await import('cli-progress');
  const bar = new SingleBar(
    { format: `${label} [{bar}] {value}/{total} {percentage}% {eta_formatted}`, stream: ctx.streams.stderr as NodeJS.WriteStream, hideCursor: true, clearOnComplete: true, etaBuffer: 100, fps: 10 },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  return {
    update: (done) => bar.update(done),
    stop: () => bar.stop(),
  };
}
