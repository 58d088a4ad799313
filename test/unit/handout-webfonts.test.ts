import { readFileSync } from 'node:fs';
import { create } from 'fontkit';
import { describe, expect, it } from 'vitest';
import { handoutFontPath, type FontName } from '../../src/handout/fonts.js';
import { subsetFont, webFontFaces } from '../../src/handout/webfonts.js';

/** The glyph's outline and advance, as fontkit draws it (fontkit's own glyph type leaves these out of its declaration). */
function drawn(font: ReturnType<typeof create>, codePoint: number): { advance: number; path: string } {
  const glyph = font.glyphForCodePoint(codePoint) as unknown as { advanceWidth: number; path: { toSVG(): string } };
  return { advance: glyph.advanceWidth, path: glyph.path.toSVG() };
}

describe('the web page fonts', () => {
  const text = 'Zoë Ødegård, Łukasz Żółć, Ярослава Коваленко, Ἀθηνᾶ — 1 500,00 kr × 6 “months”';
  const codePoints = new Set([...text].map((ch) => ch.codePointAt(0)!));

  for (const face of ['regular', 'italic', 'semibold', 'bold'] as FontName[]) {
    it(`keeps every ${face} glyph the page uses, drawn as in the full font, behind a character map a browser reads`, () => {
      const bytes = readFileSync(handoutFontPath(face));
      const full = create(bytes);
      const subset = subsetFont(full, bytes, codePoints);
      expect(subset.length).toBeLessThan(bytes.length / 20);
      const cut = create(subset);
      for (const cp of codePoints) {
        expect(cut.hasGlyphForCodePoint(cp), String.fromCodePoint(cp)).toBe(true);
        expect(drawn(cut, cp), String.fromCodePoint(cp)).toEqual(drawn(full, cp));
      }
      // Characters the page does not use are gone.
      expect(cut.hasGlyphForCodePoint(0x51)).toBe(false); // Q
      expect(cut.hasGlyphForCodePoint(0x0416)).toBe(false); // Ж
      // The tables a browser needs besides the outlines.
      const tables = Object.keys((cut as unknown as { directory: { tables: Record<string, unknown> } }).directory.tables);
      for (const tag of ['cmap', 'head', 'hhea', 'hmtx', 'maxp', 'name', 'OS/2', 'post', 'glyf', 'loca']) expect(tables).toContain(tag);
    });
  }

  it('inlines the Arabic faces only for a page with Arabic text', () => {
    expect(webFontFaces('Plan for Zoë')).not.toContain('Noto Sans Arabic');
    const faces = webFontFaces('Plan for محمد العلي');
    expect(faces.match(/font-family: 'Noto Sans Arabic'/g)).toHaveLength(3);
    expect(faces.match(/font-family: 'Noto Sans'/g)).toHaveLength(4);
    expect(faces).not.toMatch(/url\((?!data:font\/ttf;base64,)/);
  });
});
