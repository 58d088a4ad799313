import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { create } from 'fontkit';

/**
 * Noto Sans (SIL Open Font License), from the @expo-google-fonts/noto-sans
 * package: full static TTFs covering Latin, Latin Extended, Greek and
 * Cyrillic, so "Łukasz Żółć" and "Ярослава" print as written.
 */
const FILES = {
  regular: '400Regular/NotoSans_400Regular.ttf',
  italic: '400Regular_Italic/NotoSans_400Regular_Italic.ttf',
  semibold: '600SemiBold/NotoSans_600SemiBold.ttf',
  bold: '700Bold/NotoSans_700Bold.ttf',
} as const;

export type FontName = keyof typeof FILES;

let fonts: Record<FontName, object> | undefined;

/**
 * The parsed fonts, read once per process. pdfkit accepts a parsed font
 * object, and sharing one across documents keeps fontkit's glyph and layout
 * caches warm: a batch of handouts parses each file once, not once per PDF.
 */
export function handoutFonts(): Record<FontName, object> {
  if (!fonts) {
    const root = dirname(createRequire(import.meta.url).resolve('@expo-google-fonts/noto-sans/package.json'));
    fonts = Object.fromEntries(Object.entries(FILES).map(([name, file]) => [name, create(readFileSync(join(root, file)))])) as Record<FontName, object>;
  }
  return fonts;
}
