import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { create, type Font } from 'fontkit';

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

/**
 * Fallbacks for the scripts Noto Sans leaves out, from the same family and
 * licence (a few hundred kB each): Noto Sans Arabic, Hebrew and Devanagari.
 * Chinese, Japanese and Korean fonts are tens of MB and emoji fonts are
 * colour bitmaps; text in those scripts is marked instead (see cover.ts).
 */
export const FALLBACKS = {
  arabic: { pkg: '@expo-google-fonts/noto-sans-arabic', name: 'NotoSansArabic' },
  hebrew: { pkg: '@expo-google-fonts/noto-sans-hebrew', name: 'NotoSansHebrew' },
  devanagari: { pkg: '@expo-google-fonts/noto-sans-devanagari', name: 'NotoSansDevanagari' },
} as const;

export type FallbackScript = keyof typeof FALLBACKS;
/** The fallbacks have no italic; an italic line falls back to the upright face. */
type Weight = 'regular' | 'semibold' | 'bold';
const WEIGHT_FILES: Record<Weight, string> = { regular: '400Regular', semibold: '600SemiBold', bold: '700Bold' };

let fonts: Record<FontName, Font> | undefined;
const fallbacks = new Map<string, Font>();

function packageRoot(pkg: string): string {
  return dirname(createRequire(import.meta.url).resolve(`${pkg}/package.json`));
}

/**
 * The parsed fonts, read once per process. pdfkit accepts a parsed font
 * object, and sharing one across documents keeps fontkit's glyph and layout
 * caches warm: a batch of handouts parses each file once, not once per PDF.
 */
export function handoutFonts(): Record<FontName, Font> {
  if (!fonts) {
    const root = packageRoot('@expo-google-fonts/noto-sans');
    fonts = Object.fromEntries(Object.entries(FILES).map(([name, file]) => [name, create(readFileSync(join(root, file)))])) as Record<FontName, Font>;
  }
  return fonts;
}

/** The file of a Noto Sans face, for the web page, which inlines it. */
export function handoutFontPath(font: FontName): string {
  return join(packageRoot('@expo-google-fonts/noto-sans'), FILES[font]);
}

/** The file of a fallback face, e.g. "arabic-semibold", for the web page. */
export function fallbackFontPath(name: string): string {
  const [script, weight] = name.split('-') as [FallbackScript, Weight];
  const { pkg, name: family } = FALLBACKS[script];
  const dir = WEIGHT_FILES[weight];
  return join(packageRoot(pkg), dir, `${family}_${dir}.ttf`);
}

/** The name a fallback face is registered under in a document, e.g. "arabic-semibold". */
export function fallbackName(script: FallbackScript, font: FontName): string {
  return `${script}-${font === 'italic' ? 'regular' : font}`;
}

/** A fallback face, parsed the first time a handout needs it. */
export function fallbackFont(name: string): Font {
  let font = fallbacks.get(name);
  if (!font) {
    font = create(readFileSync(fallbackFontPath(name)));
    fallbacks.set(name, font);
  }
  return font;
}

/**
 * Every font file a handout may load, as the package it comes from and the
 * file inside it (for `txplan doctor`): the four Noto Sans faces and each
 * fallback script's upright weights.
 */
export function handoutFontFiles(): Array<{ pkg: string; file: string }> {
  const main = Object.values(FILES).map((file) => ({ pkg: '@expo-google-fonts/noto-sans', file }));
  const rest = Object.values(FALLBACKS).flatMap(({ pkg, name }) => Object.values(WEIGHT_FILES).map((dir) => ({ pkg, file: `${dir}/${name}_${dir}.ttf` })));
  return [...main, ...rest];
}

/** The folder a font package is installed in (throws when it is not installed). */
export function fontPackageRoot(pkg: string): string {
  return packageRoot(pkg);
}
