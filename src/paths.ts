import { fileURLToPath } from 'node:url';

/** The installed package's root: where the starter library and schemas ship. */
export const packageRoot = fileURLToPath(new URL('../', import.meta.url));
