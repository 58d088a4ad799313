// fontkit ships no types; the handout hands its font objects to pdfkit, asks them about coverage, and subsets them for the web page.
declare module 'fontkit' {
  export interface Glyph {
    id: number;
  }
  export interface Subset {
    /** Adds a glyph (and, on encoding, the glyphs it is built from); returns its id in the subset. */
    includeGlyph(glyph: number | Glyph): number;
    /** The subset as a TrueType file holding the outline tables only (no cmap, name, OS/2 or post). */
    encode(): Uint8Array;
  }
  export interface Font {
    hasGlyphForCodePoint(codePoint: number): boolean;
    glyphForCodePoint(codePoint: number): Glyph;
    createSubset(): Subset;
  }
  export function create(buffer: Uint8Array, postscriptName?: string): Font;
}
