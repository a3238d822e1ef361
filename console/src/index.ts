/**
 * @edgetwin/console: the web console's static files, built by `npm run build` (esbuild) into
 * `dist/web`. edgecore serves them at `/`; this module only says where they are.
 */
import { fileURLToPath } from 'node:url';

/** The directory holding index.html and the hashed, pre-compressed assets. */
export const consoleAssetsDir: string = fileURLToPath(new URL('./web/', import.meta.url));
