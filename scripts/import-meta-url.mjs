// import.meta.url for the modules compiled into a CommonJS bundle (see bundle.mjs): the bundle file's own URL.
export const import_meta_url = require('node:url').pathToFileURL(__filename).href;
