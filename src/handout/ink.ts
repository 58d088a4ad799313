import type { Paper } from './render.js';

/** Page sizes in PDF points, for the paper txplan.yaml names. */
export const PAPER_SIZES: Record<Paper, [number, number]> = { letter: [612, 792], a4: [595.28, 841.89] };

/** The colours txplan's printed pages are set in: the handout and the practice report share them. */
export const INK = '#1d2733';
export const MUTED = '#566372';
export const FAINT = '#8a96a3';
export const ACCENT = '#2b6f6b';
export const ACCENT_TINT = '#e9f2f1';
export const RULE = '#dce2e8';
export const HEADER_FILL = '#f2f5f7';
export const DONE = '#2f7d55';
export const AMBER = '#8a5a12';
export const AMBER_TINT = '#fbf3e4';
export const RED = '#a23a3a';
export const RED_TINT = '#fbeceb';
