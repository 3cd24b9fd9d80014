import { fileURLToPath } from 'node:url';

/**
 * Where the built dashboard (index.html, app.js, style.css) lives: dist/dashboard/, beside both the
 * queen bundle and tsc's output of this module, which is why this module sits at the top of src/.
 */
export const DASHBOARD_DIR = fileURLToPath(new URL('./dashboard/', import.meta.url));
