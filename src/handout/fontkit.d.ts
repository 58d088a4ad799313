// fontkit ships no types; the handout only hands its font objects to pdfkit.
declare module 'fontkit' {
  export function create(buffer: Uint8Array, postscriptName?: string): object;
}
